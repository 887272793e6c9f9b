import itertools

import pytest
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, transaction

from apps.audit.models import AuditEvent
from apps.audit.selectors import audit_chain_verify
from apps.audit.services import audit_record
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def chain():
    user = UserFactory()
    return [audit_record(actor=user, action=f"test.event{i}", details={"n": i, "note": "算力券"}) for i in range(5)]


def _tamper(sql: str, params: list) -> None:
    """What an attacker with superuser rights does: switch the append-only trigger off and write."""
    with connection.cursor() as cursor:
        cursor.execute("SET session_replication_role = replica")
        cursor.execute(sql, params)
        cursor.execute("SET session_replication_role = DEFAULT")


def test_events_are_chained_in_sequence(chain):
    assert [event.seq for event in chain] == [1, 2, 3, 4, 5]
    assert all(later.prev_hash == earlier.hash for earlier, later in itertools.pairwise(chain))
    assert audit_chain_verify() is None


def test_verify_command_reports_an_intact_chain(chain, capsys):
    call_command("audit_verify")
    assert "5 events verified" in capsys.readouterr().out


def test_the_database_refuses_updates_and_deletes(chain):
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditEvent.objects.filter(pk=chain[0].pk).update(action="nothing.happened")
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditEvent.objects.filter(pk=chain[0].pk).delete()


def test_an_edited_event_breaks_the_chain_at_that_event(chain):
    _tamper("UPDATE audit_auditevent SET details = %s WHERE seq = 3", ['{"n": 99}'])
    broken = audit_chain_verify()
    assert broken is not None
    assert broken.seq == 3
    assert "changed" in broken.reason
    with pytest.raises(CommandError, match="#3"):
        call_command("audit_verify")


def test_a_deleted_event_breaks_the_chain_where_it_was(chain):
    _tamper("DELETE FROM audit_auditevent WHERE seq = 2", [])
    broken = audit_chain_verify()
    assert broken is not None
    assert broken.seq == 2
    assert "missing" in broken.reason


def test_a_rewritten_event_with_a_recomputed_hash_is_still_caught_by_its_successor(chain):
    from apps.audit.chain import canonical_payload, chain_hash

    victim = chain[1]
    forged_payload = canonical_payload(seq=victim.seq, occurred_at=victim.occurred_at, actor_id=victim.actor_id,
                                       actor_label="someone else", organization_id=None, action=victim.action,
                                       object_type="", object_id="", details=victim.details)
    forged_hash = chain_hash(victim.prev_hash, forged_payload)
    _tamper("UPDATE audit_auditevent SET actor_label = %s, hash = %s WHERE seq = 2", ["someone else", forged_hash])
    broken = audit_chain_verify()
    assert broken is not None
    assert broken.seq == 3  # event #2 is self-consistent now, but #3 still points at the original hash


def test_a_rolled_back_change_leaves_no_audit_event():
    user = UserFactory()
    with pytest.raises(RuntimeError), transaction.atomic():
        audit_record(actor=user, action="test.rolled_back")
        raise RuntimeError("the change failed")
    assert not AuditEvent.objects.filter(action="test.rolled_back").exists()
