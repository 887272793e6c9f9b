"""The README is true: the make targets it names exist and `make help` lists them, the files it links exist,
and its example booking works on the demo data as written (the exact curl request, against a demo node)."""

import re
import shlex
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text()


def _makefile_targets() -> set[str]:
    return set(re.findall(r"^([a-z][a-z-]*):", (ROOT / "Makefile").read_text(), flags=re.M))


def test_make_help_lists_every_target_the_readme_names_and_the_readme_names_only_real_ones():
    targets = _makefile_targets() - {"$(STAMP)"}
    named = set(re.findall(r"`make ([a-z][a-z-]*)", README))
    assert {"run", "test", "help"} <= named <= targets
    paragraph = README[README.index("`make help` lists every target"):].split("\n\n")[0]
    assert set(re.findall(r"`([a-z][a-z-]*)`", paragraph)) == targets - {"help"}
    listed = subprocess.run(["make", "--no-print-directory", "help"], cwd=ROOT, capture_output=True, text=True,
                            check=True).stdout
    assert {line.split()[1] for line in listed.splitlines()} == targets


def test_the_readme_links_only_files_in_this_repository():
    for target in re.findall(r"\]\(([^)#]+)\)", README):
        if target.startswith("http"):
            continue
        assert not target.startswith(".."), f"README links {target} outside the repository"
        assert (ROOT / target).exists(), f"README links {target}, which does not exist"
    assert "ARCHITECTURE.md" not in README
    assert (ROOT / "docs" / "architecture.md").exists()


def _readme_booking() -> tuple[str, dict[str, str], str]:
    """The README's `curl -X POST … /workloads/` example: (url, headers, body), parsed as a shell would."""
    block = next(block for block in re.findall(r"```bash\n(.*?)```", README, flags=re.S)
                 if "curl -X POST" in block and "/workloads/" in block)
    words = shlex.split(block.replace("\\\n", " "))
    headers = dict(words[i + 1].split(": ", 1) for i, word in enumerate(words) if word == "-H")
    url = next(word for word in words if word.startswith("http"))
    return url, headers, words[words.index("-d") + 1]


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_the_readme_booking_runs_on_the_demo_fleet_as_written(live_server, tmp_path):
    import json
    import urllib.request

    from apps.billing.seed import price_book_seed
    from apps.catalog.reference import reference_data_sync
    from apps.portal.demo import demo_fleet_tokens, demo_world_load
    from apps.scheduling.services import place_pending
    from apps.tenancy.access import Actor
    from apps.tenancy.models import Organization, Role
    from apps.tenancy.services import api_key_create
    from tests.agents.live import AgentFleet, http, wait_for

    reference_data_sync()  # what migrations load; transactional tests start from an emptied database
    price_book_seed()
    demo_world_load()
    # The demo node that sells quarter-A100 slices ("Lingang AZ-2"), enrolled with the demo's own token.
    group = next(g for g in demo_fleet_tokens(token_dir=tmp_path / "tokens") if g.cluster == "Lingang AZ-2")
    fleet = AgentFleet(live_server.url, tmp_path)
    fleet.start(f"{group.hostname_prefix}001", Path(group.token_file).read_text().strip(),
                models=group.devices[0], interval=0.3)
    try:
        customer = Organization.objects.get(kind=Organization.Kind.CUSTOMER)
        owner = customer.memberships.get(role=Role.OWNER).user
        _key, key = api_key_create(actor=Actor(user=owner), organization=customer, name="readme",
                                   role=Role.MEMBER)
        # "read the organization's id from GET /api/v1/me/ (memberships[0].organization_id)"
        status, me = http("GET", f"{live_server.url}/api/v1/me/", key=key)
        assert status == 200 and me["memberships"][0]["organization_id"] == str(customer.id)

        url, headers, body = _readme_booking()
        url = url.replace("http://127.0.0.1:8000", live_server.url).replace("<org-id>", str(customer.id))
        headers["Authorization"] = headers["Authorization"].replace("tg_…", key)
        request = urllib.request.Request(url, data=body.encode(), headers=headers, method="POST")  # noqa: S310
        with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310 — the test server
            assert response.status == 201
            workload = json.loads(response.read())

        def finished():
            status, detail = http("GET", f"{url}{workload['id']}/", key=key)
            assert status == 200, detail
            return detail if detail["state"] in ("succeeded", "failed") else None

        done = wait_for(finished, timeout=120, what="the README's batch job to finish",
                        every=lambda: place_pending(region_code="cn-shanghai"))
        assert (done["state"], done["exit_code"]) == ("succeeded", 0), done
        assert "training for 3 epochs" in done["log_tail"]
        assert done["placement"][0]["node"] == f"{group.hostname_prefix}001"
    finally:
        fleet.close()
