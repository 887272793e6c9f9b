import pytest
from django.core.management import call_command

from apps.accounts.models import User
from apps.portal.demo import DEMO_PASSWORD, demo_world_load
from apps.tenancy.models import Membership, Organization

pytestmark = pytest.mark.django_db


def test_loading_the_demo_world_twice_does_not_duplicate_anything():
    demo_world_load()
    counts = (User.objects.count(), Organization.objects.count(), Membership.objects.count())
    call_command("seed_demo")
    assert (User.objects.count(), Organization.objects.count(), Membership.objects.count()) == counts
    assert counts == (4, 3, 3)


def test_the_demo_customer_starts_with_welcome_credit_once():
    from apps.ledger.selectors import wallet_balance

    demo_world_load()
    call_command("seed_demo")
    customer = Organization.objects.get(kind=Organization.Kind.CUSTOMER)
    assert wallet_balance(organization=customer) == 200_000  # ¥2,000, credited once


@pytest.mark.parametrize(("persona", "page_text"), [
    ("customer", "Book GPU slices"),
    ("provider", "enroll GPU nodes"),
    ("government", "Jurisdiction"),
])
def test_each_printed_persona_login_works_and_lands_on_its_dashboard(client, persona, page_text):
    logins = {login.persona: login for login in demo_world_load()}
    login = logins[persona]
    response = client.post("/accounts/login/", {"login": login.email, "password": DEMO_PASSWORD})
    assert response.status_code == 302
    dashboard = client.get("/dashboard/", follow=True).content.decode()
    assert login.organization in dashboard
    assert page_text in dashboard


def test_the_staff_login_opens_the_admin(client):
    demo_world_load()
    client.post("/accounts/login/", {"login": "staff@demo.tidegrid.cn", "password": DEMO_PASSWORD})
    assert client.get("/admin/").status_code == 200


def test_government_demo_has_a_jurisdiction():
    demo_world_load()
    government = Organization.objects.get(kind="government")
    assert list(government.jurisdiction.values_list("code", flat=True)) == ["cn-shanghai"]


def test_the_government_demo_shows_a_month_of_oversight_history_with_a_kpi_in_each_colour(client):
    import re

    from apps.oversight.models import DeviceDay, KpiAlert
    from apps.portal.demo import demo_oversight_history

    demo_world_load()
    assert demo_oversight_history(days=30) is True
    days = DeviceDay.objects.values("day").distinct().count()
    assert demo_oversight_history(days=30) is False  # idempotent
    assert DeviceDay.objects.values("day").distinct().count() == days == 31
    assert KpiAlert.objects.filter(kpi="utilization").count() == 1
    client.post("/accounts/login/", {"login": "gov@demo.tidegrid.cn", "password": DEMO_PASSWORD})
    html = client.get("/oversight/").content.decode()
    statuses = dict(re.findall(r'data-kpi="(\w+)" data-status="(\w+)"', html))
    assert statuses["in_service_rate"] == "green"
    assert statuses["allocation_rate"] == "amber"
    assert statuses["utilization"] == "red"
    assert "kpi-alert" in html
