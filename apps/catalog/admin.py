from django.contrib import admin

from .models import Region


@admin.register(Region)
class RegionAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "name_zh", "province", "timezone")
    search_fields = ("code", "name", "name_zh")
