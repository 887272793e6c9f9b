"""SSH public keys: strict validation, ssh-keygen's fingerprints, the settings page and the own-keys API."""

import base64
import struct

import pytest
from django.urls import reverse

from apps.accounts.models import SshKey
from apps.accounts.selectors import ssh_authorized_keys
from tests.factories import UserFactory

# Made with ssh-keygen; the fingerprints are what `ssh-keygen -lf` printed for them.
ED25519 = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIMNTkeouB66zyz8Ui7WHQZ7J1qiHplt6Au+MHoNXxC9Y alice@laptop"
ED25519_FP = "SHA256:b6/Da/DgNucxlNmBNqrY6YlJry2B8e0ZIVTiEWT8xdQ"
RSA2048 = (
    "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQDq7ljbhBhu8pYRI/c5OgY9Ef1oGPzpE3SYbNJ+CcadMPEHOJirWr88+BDt"
    "CKSp0Q8TojBZrIV3zyhh1cYW9m3PQoq241cKz24sgTBZzv47/Mjiz0SFwm+GZPeYWdD6rdqiH6bteckE1RPwnDR3lOuhdfzZ"
    "4pKthFtxtkRA9Ydz/BS3t1ws01MC0/66+pXtrFaQIbPwhDSYqQVIO9nmCP3IcJ5x6PyaYimMtu9VN++6JgCENoYjSmszs69p"
    "TW/0bMPvDmkqvVZYyA3O4sFN2iQrgw37WWZprWbaY8NEkKkF/6t6UrwoXkPQwGLaoQA8JY/Ew+DOzOGyPQdMywxgLQjv rsa"
    "@box"
)
RSA2048_FP = "SHA256:fQgDm7CV1a/YDPAMKBLuRMDOVEEFiz+4Ykuz9mpURM0"
ECDSA384 = (
    "ecdsa-sha2-nistp384 AAAAE2VjZHNhLXNoYTItbmlzdHAzODQAAAAIbmlzdHAzODQAAABhBO94nn9GX5wd/oFcr066XT1T"
    "zGQbrelLX6BfwSTtVuH34mwkqlBL7J/jZ8QExZL7Q6/BjUo2W7QbKycogl9Uhwyy2WCPCx1pdcpgM3ddxFljZwe0Tq2T7nlK"
    "6Efa8mvRaQ== ec@box"
)
ECDSA384_FP = "SHA256:0nl7hs4r4FTiAXhjflbvRLS+Ok6svq8Y/4PtmP2yCzk"
RSA1024 = (
    "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAAAgQDi7XzXwmKrDqgRd6qtxcHBi6ZGFdzGBsN7EZhaSIuF5/X0iH9I8I8kEhuq"
    "CsYPhbmyK+tkf9GVCXQHdwqrWMwUCB9w+EdNb8BcbHosdfyS0ULpIRu8l6CaDi76dQkC14Q4lqQn8IL0w3kjpzFJ6V2AGVdU"
    "KVFmPJfTeQmh4TBTaQ== root@vm"
)

LIST_URL = reverse("api:ssh-key-list")
PAGE_URL = reverse("accounts:ssh_keys")


def _blob(*parts: bytes) -> str:
    return base64.b64encode(b"".join(struct.pack(">I", len(p)) + p for p in parts)).decode()


GARBAGE = [
    "",
    "hello world",
    "ssh-dss AAAAB3NzaC1kc3MAAACBAP",
    "ssh-ed25519",
    "ssh-ed25519 not*base64!",
    "ssh-ed25519 " + _blob(b"ssh-rsa", b"\x01" * 32),            # embedded type differs
    "ssh-ed25519 " + _blob(b"ssh-ed25519", b"\x01" * 31),        # wrong size
    "ssh-ed25519 " + _blob(b"ssh-ed25519", b"\x01" * 32, b"x"),  # trailing data
    "ssh-ed25519 " + base64.b64encode(b"\x00\x00\x00\xffssh").decode(),  # truncated
    "ecdsa-sha2-nistp256 " + _blob(b"ecdsa-sha2-nistp256", b"nistp384", b"\x04" + b"\x01" * 64),
    "ecdsa-sha2-nistp256 " + _blob(b"ecdsa-sha2-nistp256", b"nistp256", b"\x02" + b"\x01" * 64),
    "ssh-rsa " + _blob(b"ssh-rsa", b"\x01\x00\x01", b"\x00" + b"\xff" * 255 + b"\x00"),  # even modulus
    RSA1024,
    "-----BEGIN OPENSSH PRIVATE KEY-----",
    ED25519 + "\n" + RSA2048,
    'command="rm -rf /" ' + ED25519,
]


@pytest.mark.parametrize("text,fingerprint", [(ED25519, ED25519_FP), (RSA2048, RSA2048_FP),
                                              (ECDSA384, ECDSA384_FP)])
def test_the_api_adds_each_key_type_with_ssh_keygens_fingerprint(db, api_as, text, fingerprint):
    user = UserFactory()
    response = api_as(user).post(LIST_URL, {"public_key": text}, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["fingerprint"] == fingerprint
    assert body["name"] == text.split()[2]  # the comment, when no name is given
    assert body["public_key"] == " ".join(text.split()[:2])
    assert api_as(user).get(LIST_URL).json()[0]["fingerprint"] == fingerprint


@pytest.mark.parametrize("text", GARBAGE)
def test_garbage_is_a_400_with_a_field_error_and_stores_nothing(db, api_as, text):
    user = UserFactory()
    response = api_as(user).post(LIST_URL, {"public_key": text}, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["fields"]["public_key"]
    assert not SshKey.objects.exists()


def test_a_weak_rsa_key_says_why(db, api_as):
    response = api_as(UserFactory()).post(LIST_URL, {"public_key": RSA1024}, format="json")
    assert "2048" in response.json()["error"]["fields"]["public_key"][0]


def test_the_same_key_twice_is_refused(db, api_as):
    client = api_as(UserFactory())
    assert client.post(LIST_URL, {"public_key": ED25519}, format="json").status_code == 201
    again = client.post(LIST_URL, {"public_key": ED25519.rsplit(" ", 1)[0] + " other"}, format="json")
    assert again.status_code == 400
    assert SshKey.objects.count() == 1


def test_another_users_key_is_a_404_and_stays(db, api_as):
    owner, stranger = UserFactory(), UserFactory()
    key_id = api_as(owner).post(LIST_URL, {"public_key": ED25519}, format="json").json()["id"]
    url = reverse("api:ssh-key-detail", args=[key_id])
    client = api_as(stranger)
    assert client.get(url).status_code == 404
    assert client.delete(url).status_code == 404
    assert client.get(LIST_URL).json() == []
    assert client.post(reverse("accounts:ssh_key_delete", args=[key_id])).status_code == 404
    assert SshKey.objects.filter(pk=key_id).exists()
    assert api_as(owner).delete(url).status_code == 204
    assert not SshKey.objects.filter(pk=key_id).exists()


def test_an_api_key_may_list_but_not_change_ssh_keys(tenant, key_client):
    client = key_client(tenant)
    assert client.get(LIST_URL).status_code == 200
    assert client.post(LIST_URL, {"public_key": ED25519}, format="json").status_code == 403
    assert not SshKey.objects.exists()


def test_anonymous_is_refused(db, api):
    assert api.get(LIST_URL).status_code in (401, 403)


def test_the_settings_page_adds_shows_and_removes_keys(db, as_user):
    user = UserFactory()
    client = as_user(user)
    response = client.post(PAGE_URL, {"name": "laptop", "public_key": ED25519}, follow=True)
    assert response.status_code == 200
    page = response.content.decode()
    assert "laptop" in page and ED25519_FP in page
    bad = client.post(PAGE_URL, {"name": "x", "public_key": "ssh-ed25519 AAAA"})
    assert bad.status_code == 400
    assert "not a valid ssh-ed25519 key" in bad.content.decode()
    assert ssh_authorized_keys(user_id=user.pk) == [" ".join(ED25519.split()[:2])]
    key = SshKey.objects.get()
    client.post(reverse("accounts:ssh_key_delete", args=[key.pk]))
    assert ED25519_FP not in client.get(PAGE_URL).content.decode()
    assert ssh_authorized_keys(user_id=user.pk) == []
