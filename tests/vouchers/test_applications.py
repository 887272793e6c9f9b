"""Applications: the customer applies (description, amount, an attachment stored through Django's
storage API, size-checked); the operator approves, asks for more, or rejects, always with a reason;
every decision audited and e-mailed."""

from datetime import date

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile

from apps.audit.models import AuditEvent
from apps.vouchers import services
from apps.vouchers.models import Application, Grant
from apps.vouchers.selectors import grant_balance
from tests.vouchers.conftest import make_enterprise, make_program

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def test_apply_ask_for_more_answer_and_approve(gov, django_capture_on_commit_callbacks):
    program = make_program(gov)
    firm = make_enterprise("Deep Fjord AI", 7)
    with django_capture_on_commit_callbacks(execute=True):
        application = services.application_submit(
            actor=firm.actor("admin"), program=program, organization=firm.organization,
            description="Fine-tuning a legal LLM", requested_fen=5_000_000,
            attachment=SimpleUploadedFile("plan.pdf", b"%PDF-1.4 plan", content_type="application/pdf"))
    assert application.attachment.name.startswith("voucher-applications/")
    assert application.attachment.read() == b"%PDF-1.4 plan"
    assert gov.owner.email in mail.outbox[-1].to and "Deep Fjord AI" in mail.outbox[-1].subject
    with django_capture_on_commit_callbacks(execute=True):
        services.application_decide(actor=gov.actor("admin"), application=application, decision="request_info",
                                    reason="Attach the business licence")
    assert firm.owner.email in mail.outbox[-1].to and "Attach the business licence" in mail.outbox[-1].body
    assert "\n---\n" in mail.outbox[-1].body  # English, then the Chinese half
    application = services.application_resubmit(actor=firm.actor("admin"), application=application,
                                                description="Fine-tuning a legal LLM; licence attached")
    assert application.state == Application.State.SUBMITTED
    services.application_decide(actor=gov.actor("admin"), application=application, decision="approve",
                                reason="Meets the criteria", amount_fen=3_000_000, starts_on=date(2026, 2, 1))
    grant = Grant.objects.get()
    assert (grant.amount_fen, grant.starts_on, grant_balance(grant)) == (3_000_000, date(2026, 2, 1), 3_000_000)
    decisions = AuditEvent.objects.filter(action="vouchers.application_decided").order_by("seq")
    assert [e.details["decision"] for e in decisions] == ["request_info", "approve"]
    assert decisions.last().details["reason"] == "Meets the criteria"


def test_every_decision_needs_a_reason_and_decided_is_final(gov):
    program = make_program(gov)
    firm = make_enterprise("Quiet Labs", 8)
    application = services.application_submit(actor=firm.actor("admin"), program=program,
                                              organization=firm.organization, description="x", requested_fen=100)
    with pytest.raises(ValidationError) as error:
        services.application_decide(actor=gov.actor("admin"), application=application, decision="reject", reason=" ")
    assert "reason" in error.value.message_dict
    with pytest.raises(ValidationError) as error:
        services.application_decide(actor=gov.actor("admin"), application=application, decision="approve",
                                    reason="ok", amount_fen=0, starts_on=date(2035, 1, 1))
    assert {"amount_fen", "starts_on"} <= set(error.value.message_dict)
    services.application_decide(actor=gov.actor("admin"), application=application, decision="reject",
                                reason="Not a compute project")
    with pytest.raises(ValidationError):
        services.application_decide(actor=gov.actor("admin"), application=application, decision="approve",
                                    reason="changed my mind", amount_fen=100, starts_on=date(2026, 2, 1))
    assert not Grant.objects.exists()


def test_attachments_are_size_and_type_checked(gov, settings):
    program = make_program(gov)
    firm = make_enterprise("Big Files", 9)
    big = SimpleUploadedFile("plan.pdf", b"0" * (services.MAX_ATTACHMENT_BYTES + 1))
    with pytest.raises(ValidationError) as error:
        services.application_submit(actor=firm.actor("admin"), program=program, organization=firm.organization,
                                    description="x", requested_fen=100, attachment=big)
    assert "attachment" in error.value.message_dict
    with pytest.raises(ValidationError):
        services.application_submit(actor=firm.actor("admin"), program=program, organization=firm.organization,
                                    description="x", requested_fen=100,
                                    attachment=SimpleUploadedFile("run.exe", b"MZ"))
    assert not Application.objects.exists()


def test_who_may_apply_and_decide(gov):
    program = make_program(gov)
    firm = make_enterprise("Members Only", 10)
    with pytest.raises(PermissionDenied):  # a plain member does not apply for the organization
        services.application_submit(actor=firm.actor("member"), program=program, organization=firm.organization,
                                    description="x", requested_fen=100)
    application = services.application_submit(actor=firm.actor("owner"), program=program,
                                              organization=firm.organization, description="x", requested_fen=100)
    with pytest.raises(ValidationError):  # one open application per programme
        services.application_submit(actor=firm.actor("owner"), program=program, organization=firm.organization,
                                    description="again", requested_fen=100)
    with pytest.raises(PermissionDenied):  # the applicant cannot approve itself
        services.application_decide(actor=firm.actor("owner"), application=application, decision="approve",
                                    reason="me", amount_fen=100, starts_on=date(2026, 2, 1))


def test_a_grant_above_the_versions_largest_grant_is_refused(gov):
    program = make_program(gov, grant_cap_fen=1_000)
    firm = make_enterprise("Greedy", 11)
    application = services.application_submit(actor=firm.actor("admin"), program=program,
                                              organization=firm.organization, description="x", requested_fen=5_000)
    with pytest.raises(ValidationError) as error:
        services.application_decide(actor=gov.actor("admin"), application=application, decision="approve",
                                    reason="ok", amount_fen=5_000, starts_on=date(2026, 2, 1))
    assert "amount_fen" in error.value.message_dict
