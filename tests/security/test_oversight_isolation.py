"""Issue 13, acceptance 4: an operator of jurisdiction A sees nothing of B (404 on every page, API and
export), customers and providers get 404 on the oversight pages and API."""

from apps.tenancy.models import Role
from tests.factories import MembershipFactory
from tests.oversight.conftest import _sample_gap, fleet  # noqa: F401 — the generated fleet and its settings

MONTH = {"period": "month", "start": "2026-11-01"}


def _api(fleet, kind):  # noqa: F811
    return f"/api/v1/organizations/{fleet.government.id}/oversight/{kind}/"


def test_jurisdictions_and_kinds_are_isolated(fleet, api_as, as_user):  # noqa: F811
    other = api_as(fleet.other_auditor)
    for kind in ("kpis", "breakdown", "series", "targets", "export", "evidence", "settlement-gates"):
        assert other.get(_api(fleet, kind), MONTH).status_code == 404, kind
    assert other.post(_api(fleet, "targets"), {"kpi": "utilization", "green_at": 0.6, "amber_at": 0.5},
                      format="json").status_code == 404
    # B's operator naming A's region, provider, cluster or node inside B's own pages and API: 404
    client = as_user(fleet.other_auditor, fleet.other_government)
    own_api = f"/api/v1/organizations/{fleet.other_government.id}/oversight/"
    sh1 = fleet.nodes["sh-1"]
    for params in ({"region": "cn-shanghai"}, {"provider": str(fleet.providers[1].id)},
                   {"cluster": str(sh1.cluster_id)}, {"node": str(sh1.id)}):
        assert client.get("/oversight/", {**MONTH, **params}).status_code == 404, params
        assert client.get("/oversight/export.csv", {**MONTH, **params}).status_code == 404, params
        assert client.get("/oversight/evidence.zip", {**MONTH, **params}).status_code == 404, params
        assert client.get("/oversight/report.pdf", {**MONTH, **params}).status_code == 404, params
        assert other.get(own_api + "kpis/", {**MONTH, **params}).status_code == 404, params
    # B sees its own jurisdiction (Beijing) only
    rows = other.get(own_api + "breakdown/", MONTH).json()["rows"]
    assert [row["key"] for row in rows] == ["cn-beijing"]
    # customers and providers: 404 on the pages and the API
    for kind_org, user_role in ((fleet.customers["local"], Role.OWNER), (fleet.providers[0], Role.ADMIN)):
        user = MembershipFactory(organization=kind_org, role=user_role).user
        assert as_user(user, kind_org).get("/oversight/").status_code == 404
        assert as_user(user, kind_org).get("/oversight/targets/").status_code == 404
        assert as_user(user, kind_org).get("/oversight/export.csv").status_code == 404
        assert as_user(user, kind_org).get("/oversight/evidence.zip").status_code == 404
        assert api_as(user).get(f"/api/v1/organizations/{kind_org.id}/oversight/kpis/").status_code == 404
