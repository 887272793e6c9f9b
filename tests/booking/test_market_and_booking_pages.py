"""The market (live availability, prices, comparison) and the booking form (shapes, regions, billing
modes, price estimate) in the customer portal, plus the live parts of a workload's page."""

import pytest
from django.urls import reverse

from apps.booking.models import Workload
from apps.catalog.models import Cluster
from apps.scheduling.services import place_pending
from tests.scheduling.conftest import enroll_node, pending_workload

pytestmark = pytest.mark.django_db

A100 = {"model": "NVIDIA A100-SXM4-80GB", "count": 2, "memory": 81920}


@pytest.fixture
def shared_a100(provider, cluster):
    Cluster.objects.filter(pk=cluster.pk).update(gpu_sharing="fractional")
    return enroll_node(provider, cluster, "a100-shared", **A100)


def _book(client, **overrides):
    data = {"name": "quarter", "kind": "instance", "accelerator_models": ["nvidia-a100-80gb"],
            "shape": "fractional", "gpu_percent": "25", "region": _region_id("cn-shanghai"),
            "billing_mode": "on_demand", "image": "pytorch"}
    data.update(overrides)
    return client.post(reverse("booking:workload_new"), {k: v for k, v in data.items() if v is not None})


def _region_id(code):
    from apps.catalog.models import Region

    return str(Region.objects.get(code=code).pk)


def test_market_lists_free_cards_startable_slices_prices_and_price_per_tflops(as_user, customer, shared_a100):
    body = as_user(customer.member, customer.organization).get(reverse("booking:market")).content.decode()
    assert "NVIDIA A100 80GB" in body or "A100" in body
    assert "2 of 2 cards" in body
    assert "25 %" in body  # the fractional cluster sells quarter slices
    assert "¥14.70" in body  # seeded on-demand list price of an A100 80GB: ¥14.00 × 1.05 in Shanghai
    assert "¥0.0471" in body  # 14.70 / 312 FP16 TFLOPS


def test_market_filters_by_vendor_and_price_and_says_what_to_do_when_empty(as_user, customer, shared_a100):
    client = as_user(customer.member, customer.organization)
    assert "A100" not in client.get(reverse("booking:market"), {"vendor": "huawei"}).content.decode()
    empty = client.get(reverse("booking:market"), {"max_price": "1"}).content.decode()
    assert "Nothing matches these filters right now" in empty
    assert client.get(reverse("booking:market"), {"max_price": "not-a-number"}).status_code == 200


def test_booking_a_quarter_a100_slice_creates_a_pending_workload_that_gets_placed(as_user, customer, shared_a100):
    client = as_user(customer.member, customer.organization)
    response = _book(client)
    workload = Workload.objects.get(organization=customer.organization)
    assert response.status_code == 302 and response["Location"] == f"/workloads/{workload.pk}/"
    assert (workload.gpu_milli, workload.gpu_memory_mib, workload.image) == (250, 20480, "pytorch")
    assert workload.restartable  # an interactive instance comes back by itself after a lost node
    place_pending(region_code="cn-shanghai")
    page = client.get(response["Location"]).content.decode()
    assert "Placed" in page and "a100-shared" in page and "25 % compute" in page
    assert "¥3.6750/h" in page  # a quarter of ¥14.70: compute and memory shares are both 25 %


def test_nearby_regions_spot_and_whole_cards_become_the_right_request(as_user, customer):
    client = as_user(customer.member, customer.organization)
    _book(client, name="spot-cards", shape="whole", gpu_count="2", gpu_percent=None, nearby="on",
          billing_mode="spot", accelerator_models=[])
    workload = Workload.objects.get(name="spot-cards")
    assert workload.gpu_count == 2 and workload.gpu_milli == 0
    assert workload.preemptible and workload.priority < 0
    assert "cn-suzhou" in workload.allowed_regions and "cn-ulanqab" not in workload.allowed_regions
    assert (workload.cpu_milli, workload.memory_mib) == (16000, 65536)


def test_a_batch_job_needs_a_command_and_an_ascend_image_needs_an_ascend(as_user, customer):
    client = as_user(customer.member, customer.organization)
    response = _book(client, kind="batch")
    assert response.status_code == 200
    assert "A batch job needs a command" in response.content.decode()
    response = _book(client, image="mindspore")
    assert "runs on" in response.content.decode()
    assert not Workload.objects.exists()


def test_bad_input_is_shown_on_the_form_and_books_nothing(as_user, customer):
    client = as_user(customer.member, customer.organization)
    response = _book(client, gpu_percent="150", region="nowhere", billing_mode="forever")
    body = response.content.decode()
    assert response.status_code == 200
    assert "Ensure this value is less than or equal to 99." in body
    assert "Select a valid choice." in body
    response = _book(client, billing_mode="reserved", window_start="2020-01-01T10:00", window_end="2020-01-01T12:00")
    assert "The window must start in the future." in response.content.decode()
    assert not Workload.objects.exists()


def test_the_estimate_follows_the_form(as_user, customer, shared_a100):
    client = as_user(customer.member, customer.organization)
    data = {"name": "q", "kind": "instance", "accelerator_models": ["nvidia-a100-80gb"], "shape": "fractional",
            "gpu_percent": "50", "region": _region_id("cn-shanghai"), "billing_mode": "on_demand",
            "image": "pytorch"}
    body = client.post(reverse("booking:workload_estimate"), data).content.decode()
    assert "¥7.35" in body  # half of ¥14.70
    data["billing_mode"] = "spot"
    assert "¥7.35" not in client.post(reverse("booking:workload_estimate"), data).content.decode()
    data["gpu_percent"] = "0"
    assert "Fix the marked fields" in client.post(reverse("booking:workload_estimate"), data).content.decode()


def test_viewers_see_the_form_but_cannot_book(as_user, customer):
    client = as_user(customer.viewer, customer.organization)
    assert "Viewers cannot book compute" in client.get(reverse("booking:workload_new")).content.decode()
    response = _book(client)
    assert response.status_code == 403 and not Workload.objects.exists()


def test_providers_and_strangers_cannot_book_and_workload_parts_are_404_for_other_tenants(
        as_user, customer, tenant, provider):
    assert as_user(provider.admin, provider.organization).get(reverse("booking:workload_new")).status_code == 404
    workload = pending_workload(customer)
    client = as_user(tenant.owner, tenant.organization)
    for name in ("workload_status", "workload_usage"):
        assert client.get(reverse(f"booking:{name}", args=[workload.pk])).status_code == 404
    for name in ("workload_restart", "workload_extend"):
        assert client.post(reverse(f"booking:{name}", args=[workload.pk])).status_code == 404


def test_the_status_partial_shows_queue_position_and_the_usage_json_is_empty_before_it_runs(as_user, customer):
    first = pending_workload(customer, name="first")
    second = pending_workload(customer, name="second")
    client = as_user(customer.member, customer.organization)
    body = client.get(reverse("booking:workload_status", args=[second.pk])).content.decode()
    assert "Number 2 in the queue" in body
    assert "Number 1 in the queue" in client.get(reverse("booking:workload_status", args=[first.pk])).content.decode()
    assert client.get(reverse("booking:workload_usage", args=[first.pk])).json() == {
        "source": None, "devices": [], "share_pct": None}


def test_a_stopped_workload_runs_again_from_its_page(as_user, customer):
    workload = pending_workload(customer)
    client = as_user(customer.member, customer.organization)
    client.post(reverse("booking:workload_stop", args=[workload.pk]))
    page = client.get(reverse("booking:workload_detail", args=[workload.pk])).content.decode()
    assert "Run again" in page
    client.post(reverse("booking:workload_restart", args=[workload.pk]))
    workload.refresh_from_db()
    assert workload.state == Workload.State.PENDING


def test_the_timeline_speaks_the_readers_language_whoever_wrote_it(client, customer, provider, cluster):
    enroll_node(provider, cluster, "t4-zh", count=1)
    workload = pending_workload(customer)
    place_pending(region_code="cn-shanghai")  # written by the scheduler, in English
    client.force_login(customer.member)
    client.post(reverse("booking:workload_stop", args=[workload.pk]), HTTP_ACCEPT_LANGUAGE="zh-hans")
    event = workload.events.get(to_state=Workload.State.STOPPING)
    assert event.reason == f"stop requested by {customer.member.email}"  # stored in English
    chinese = client.get(reverse("booking:workload_detail", args=[workload.pk]),
                         HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert f"由 {customer.member.email} 请求停止" in chinese
    assert "已由 tidal 策略放置到 t4-zh" in chinese
    english = client.get(reverse("booking:workload_detail", args=[workload.pk]),
                         HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "placed on t4-zh by the tidal policy" in english


def test_why_it_waits_is_shown_in_the_readers_language(client, customer, provider, cluster):
    enroll_node(provider, cluster, "t4-only", count=1)
    waiting = pending_workload(customer, accelerator_models=["nvidia-h100-80gb"])
    place_pending(region_code="cn-shanghai")
    waiting.refresh_from_db()
    assert waiting.pending_reason == ("no device in cn-shanghai matches the request "
                                      "(a device with 500 milli and 4096 MiB among nvidia-h100-80gb)")
    client.force_login(customer.member)
    chinese = client.get(reverse("booking:workload_detail", args=[waiting.pk]),
                         HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert ("cn-shanghai 没有符合请求的卡"
            "（一张有 500 毫卡算力和 4096 MiB 显存的卡（型号限 nvidia-h100-80gb））") in chinese
    listing = client.get(reverse("booking:workload_list"), HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "cn-shanghai 没有符合请求的卡" in listing


def test_market_booking_and_estimate_need_a_signed_in_customer(client, as_user, provider):
    for name in ("market", "workload_new"):
        response = client.get(reverse(f"booking:{name}"))
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    assert client.post(reverse("booking:workload_estimate"), {}).status_code == 302
    provider_client = as_user(provider.admin, provider.organization)
    assert provider_client.post(reverse("booking:workload_estimate"), {"gpu_percent": "25"}).status_code == 404


def test_the_form_starts_in_the_organizations_region_and_shows_a_price_at_once(as_user, customer, shared_a100):
    from apps.catalog.models import Region

    customer.organization.registered_region = Region.objects.get(code="cn-shanghai")
    customer.organization.save(update_fields=["registered_region"])
    page = as_user(customer.member, customer.organization).get(
        reverse("booking:workload_new"), {"model": "nvidia-a100-80gb", "shape": "fractional", "percent": "25"})
    body = page.content.decode()
    assert f'<option value="{_region_id("cn-shanghai")}" selected>' in body
    assert "¥3.6750/h" in body


def test_without_a_registered_region_the_form_starts_where_cards_are_free(as_user, customer, shared_a100):
    assert customer.organization.registered_region is None
    body = as_user(customer.member, customer.organization).get(reverse("booking:workload_new")).content.decode()
    assert f'<option value="{_region_id("cn-shanghai")}" selected>' in body


def test_the_market_filters_speak_chinese(client, customer):
    client.force_login(customer.member)
    body = client.get(reverse("booking:market"), HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert all(label in body for label in ("厂商", "显存至少（GB）", "每卡时最高（元）", "仅显示可立即启动的"))
