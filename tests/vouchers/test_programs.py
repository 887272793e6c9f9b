"""Programmes: created by government operators inside their jurisdiction, rule versions frozen once
published, open / pause / close and the kill switch."""

from datetime import date

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import DatabaseError, transaction

from apps.audit.models import AuditEvent
from apps.catalog.models import Region
from apps.ledger.models import Account
from apps.vouchers import services
from apps.vouchers.models import Program, RuleVersion, TaperStep
from tests.vouchers.conftest import AGE_TAPER, local, make_government, make_program

pytestmark = pytest.mark.django_db


def test_a_government_operator_creates_a_programme_with_a_published_taper(gov):
    program = make_program(gov, budget_fen=50_000_000, annual_cap_fen=200_000_000)
    assert program.state == Program.State.OPEN
    version = program.versions.get()
    assert version.is_published and version.number == 1
    assert [s.rate_bp for s in version.steps.all()] == [5000, 3000, 2000, 0]
    # opening funded the budget account with the programme's budget
    budget = Account.objects.get(organization=gov.organization, kind="program_budget", reference=program.reference)
    assert budget.balance_fen == 50_000_000 and budget.has_floor
    assert AuditEvent.objects.filter(action="vouchers.program_open").exists()


def test_only_government_admins_of_the_owner_create_programmes(gov, tenant):
    with pytest.raises(PermissionDenied):
        services.program_create(actor=gov.actor("member"), organization=gov.organization, name="x", name_zh="x",
                                budget_fen=1, valid_from=date(2026, 1, 1), valid_until=date(2027, 1, 1))
    with pytest.raises(ValidationError) as error:
        services.program_create(actor=tenant.actor("owner"), organization=tenant.organization, name="x",
                                name_zh="x", budget_fen=1, valid_from=date(2026, 1, 1), valid_until=date(2027, 1, 1))
    assert "organization" in error.value.message_dict


def test_bad_programme_input_names_every_field(gov):
    with pytest.raises(ValidationError) as error:
        services.program_create(actor=gov.actor("admin"), organization=gov.organization, name=" ", name_zh="",
                                budget_fen=-5, valid_from=date(2027, 1, 1), valid_until=date(2026, 1, 1),
                                redemption_mode="bogus")
    assert set(error.value.message_dict) == {"name", "name_zh", "budget_fen", "valid_until", "redemption_mode"}
    assert not Program.objects.exists()


def test_a_published_version_is_frozen_and_a_change_is_a_new_version(gov):
    program = make_program(gov)
    version = program.versions.get()
    with pytest.raises(DatabaseError), transaction.atomic():
        RuleVersion.objects.filter(pk=version.pk).update(annual_cap_fen=1)
    with pytest.raises(DatabaseError), transaction.atomic():
        TaperStep.objects.filter(version=version).update(rate_bp=10_000)
    with pytest.raises(DatabaseError), transaction.atomic():
        TaperStep.objects.create(version=version, position=9, rate_bp=100, starts_after_months=48)
    with pytest.raises(DatabaseError), transaction.atomic():
        version.compute_regions.add(Region.objects.get(code="cn-shanghai"))
    second = services.rule_version_create(actor=gov.actor("admin"), program=program, effective_from=local(2030, 1, 1),
                                          taper_basis="grant_age", steps=AGE_TAPER[:2])
    services.rule_version_publish(actor=gov.actor("admin"), version=second)
    assert second.number == 2
    assert list(program.versions.filter(published_at__isnull=False).values_list("number", flat=True)) == [2, 1]


def test_a_version_may_not_start_in_the_past_nor_count_regions_outside_the_jurisdiction(gov):
    program = make_program(gov)
    late = services.rule_version_create(actor=gov.actor("admin"), program=program, effective_from=local(2026, 2, 1),
                                        taper_basis="grant_age", steps=AGE_TAPER)
    with pytest.raises(ValidationError) as error:
        services.rule_version_publish(actor=gov.actor("admin"), version=late)
    assert "effective_from" in error.value.message_dict
    with pytest.raises(ValidationError) as error:
        services.rule_version_create(actor=gov.actor("admin"), program=program, effective_from=local(2030, 1, 1),
                                     taper_basis="grant_age", steps=AGE_TAPER,
                                     compute_regions=list(Region.objects.exclude(code="cn-shanghai")[:1]))
    assert "compute_regions" in error.value.message_dict


@pytest.mark.parametrize("steps, basis", [
    ([], "grant_age"),
    ([{"rate_bp": 12_000, "starts_after_months": 0}], "grant_age"),
    ([{"rate_bp": 5000}], "grant_age"),
    ([{"rate_bp": 5000, "starts_after_months": 0}], "calendar"),
    ([{"rate_bp": 5000, "starts_after_months": 0, "hardware_class": "alien"}], "grant_age"),
    (["nonsense"], "grant_age"),
])
def test_bad_taper_steps_are_field_errors(gov, steps, basis):
    program = make_program(gov, open_it=False)
    with pytest.raises(ValidationError) as error:
        services.rule_version_create(actor=gov.actor("admin"), program=program, effective_from=local(2030, 1, 1),
                                     taper_basis=basis, steps=steps)
    assert "steps" in error.value.message_dict
    assert program.versions.count() == 1


def test_open_pause_close_and_the_kill_switch(gov):
    actor = gov.actor("admin")
    program = make_program(gov, open_it=False)
    draft = services.program_create(actor=actor, organization=gov.organization, name="Empty", name_zh="空",
                                    budget_fen=100, valid_from=date(2026, 1, 1), valid_until=date(2027, 1, 1))
    with pytest.raises(ValidationError):
        services.program_transition(actor=actor, program=draft, action="open")  # no published rules
    program = services.program_transition(actor=actor, program=program, action="open")
    program = services.program_transition(actor=actor, program=program, action="pause", reason="audit")
    assert program.state == Program.State.PAUSED
    program = services.program_transition(actor=actor, program=program, action="open")
    # reopening does not fund the budget twice
    assert Account.objects.get(kind="program_budget", reference=program.reference).balance_fen == program.budget_fen
    with pytest.raises(ValidationError):
        services.program_kill(actor=actor, program=program, reason="  ")
    program = services.program_kill(actor=actor, program=program, reason="Fraud suspected")
    assert program.killed_at is not None and program.state == Program.State.CLOSED
    with pytest.raises(ValidationError):
        services.program_transition(actor=actor, program=program, action="open")


def test_another_jurisdictions_operator_cannot_touch_the_programme(gov):
    other = make_government("Beijing Bureau", ["cn-beijing"])
    program = make_program(gov)
    with pytest.raises(PermissionDenied):
        services.program_transition(actor=other.actor("owner"), program=program, action="pause")
    with pytest.raises(PermissionDenied):
        services.program_kill(actor=other.actor("owner"), program=program, reason="hostile")
