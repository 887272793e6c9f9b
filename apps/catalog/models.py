from django.db import models
from django.utils.translation import gettext_lazy as _


class Region(models.Model):
    """A compute location (a data-centre city). Governments' jurisdictions are sets of regions."""

    code = models.SlugField(_("code"), max_length=40, unique=True, help_text=_("e.g. cn-shanghai"))
    name = models.CharField(_("name"), max_length=100)
    name_zh = models.CharField(_("Chinese name"), max_length=100)
    province = models.CharField(_("province"), max_length=100, blank=True)
    timezone = models.CharField(_("time zone"), max_length=64, default="Asia/Shanghai")

    class Meta:
        ordering = ["code"]
        verbose_name = _("region")
        verbose_name_plural = _("regions")

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"

    def display_name(self, language: str | None) -> str:
        return self.name_zh if (language or "").startswith("zh") else self.name
