"""Reference facts for TideGrid's regions: time-of-use tariff windows, electricity price, 东数西算 hub, latency.

Pure data: no Django imports. The region codes are the ones seeded by ``apps/catalog/data/regions.py``.

* ``peak_hours`` / ``off_peak_hours``: the province's industrial & commercial time-of-use (分时电价) 高峰 (including
  any 尖峰 sub-window) and 低谷 periods, as ``[start_hour, end_hour)`` in local time (Asia/Shanghai). A period that
  crosses midnight is split in two (``(22, 24)`` and ``(0, 6)``). Where the province changes its windows by season we
  store the base schedule (the one in force in most months, or in summer and winter when the split is even); the
  seasonal variants are written down in docs/catalog-sources.md and in ``TARIFF_POLICIES``.
* ``electricity_cny_per_kwh``: a representative all-in average price for a large two-part (大工业/工商业两部制)
  1-10 kV customer, rounded to the fen. These are **estimates** of the level, not a tariff: use the grid company's
  monthly 代理购电价格公告 for billing.
* ``hub``: the national computing hub node (全国一体化算力网络国家枢纽节点, 东数西算) the region belongs to.
* ``LATENCY_MS``: round-trip time between regions, **estimated** from great-circle distance (see
  ``LATENCY_MODEL``), anchored on public measurements; each unordered pair appears once, self-latency is 0.
"""

from decimal import Decimal

TIMEZONE = "Asia/Shanghai"

SOURCES: dict[str, str] = {
    "tou-sh": (
        "上海 沪发改价管〔2022〕50号 (two-part users; other months: 高峰 8-11, 18-21, 低谷 22-6; Jul-Sep 高峰 8-15, "
        "18-21, 尖峰 12-14 in Jul-Aug; Jan/Dec 尖峰 19-21) — https://fgw.sh.gov.cn/fgw_jggl/20221216/"
        "e2652e3ab7ee49438d6e82af8880b160.html"
    ),
    "tou-js": (
        "江苏 苏发改价格发〔2025〕426号, from 2025-06-01 (Jun-Aug, Dec-Feb: 高峰 14-22, 低谷 0-6 and 11-13; Mar-May, "
        "Sep-Nov: 高峰 15-22, 低谷 2-6 and 10-14) — https://fzggw.jiangsu.gov.cn/art/2025/4/30/art_284_11557001.html"
    ),
    "tou-zj": (
        "浙江 浙发改价格〔2026〕112号, from 2026-07-01 (all seasons: 高峰 16-23 with 尖峰 18-22 in Jan/Jul/Aug/Dec, "
        "低谷 0-7 and 11-14) — https://www.zj.gov.cn/col/col1229203589/art/2026/"
        "art_db07d88b6c68f1412561a0e8640cc135.html (supersedes 浙发改价格〔2024〕21号)"
    ),
    "tou-bj": (
        "北京 京发改规〔2023〕11号 (高峰 10-13, 17-22; 平 7-10, 13-17, 22-23; 低谷 23-7; 尖峰 Jul-Aug 11-13 and 16-17, "
        "Jan/Dec 18-21) — as quoted in State Grid Beijing's 代理购电价格公告"
    ),
    "tou-mx": (
        "蒙西电网 内发改价费字〔2023〕1630号 (大风季 Jan-May, Sep-Dec: 峰 6-8, 18-22, 谷 0-4, 11-16; 小风季 Jun-Aug: "
        "峰 6-8, 18-22, 谷 11-16, 尖峰 19-21, 深谷 13-15) — as quoted in Inner Mongolia Power's 代理购电价格公告"
    ),
    "tou-gz": (
        "贵州 黔发改价格〔2023〕481号 (高峰 10-13, 17-22; 平 8-10, 13-17, 22-24; 低谷 0-8) — "
        "https://fgw.guizhou.gov.cn/zwgk/zcwj/zcwj/202306/t20230628_80566840.html"
    ),
    "tou-nx": (
        "宁夏 宁发改价格(管理)〔2023〕7号 as restated in 宁发改运行〔2024〕952号 (峰 7-9, 17-23; 谷 9-17; "
        "平 0-7, 23-24)"
    ),
    "tou-sc": (
        "四川 川发改价格〔2025〕185号 (Mar-Jun, Oct-Nov: 高峰 10-12, 17-22, 低谷 22-8; Jul-Sep: 高峰 11-18, 20-23, "
        "低谷 1-7; Jan, Feb, Dec: 高峰 10-12, 16-22, 低谷 0-8)"
    ),
    "tou-gs": (
        "甘肃 甘发改价格〔2024〕424号, from 2024-08-01 (高峰 6-8, 18-23; 平 23-6, 8-10, 16-18; 低谷 10-16)"
    ),
    "tou-gd": (
        "广东 粤发改价格〔2021〕331号 (高峰 10-12, 14-19; 低谷 0-8; 尖峰 Jul-Sep 11-12 and 15-17) — "
        "https://drc.gd.gov.cn/ywtz/content/post_3500421.html"
    ),
    "tou-compilation": (
        "The grid companies' monthly 代理购电价格公告 footnotes that restate each province's TOU windows, as quoted "
        "verbatim in public code (a Go test fixture of per-province notes, a Julia tariff model citing the official "
        "URLs above); the Beijing, 蒙西, Ningxia, Sichuan and Gansu windows were read from these quotations, not "
        "from the provincial government pages"
    ),
    "hubs": (
        "国家发展改革委等: 全国一体化算力网络国家枢纽节点, 2022-02. 8 hubs: 京津冀, 长三角, 粤港澳, 成渝, "
        "内蒙古, 贵州, 甘肃, 宁夏; 10 clusters incl. 长三角生态绿色一体化发展示范区, 芜湖, 张家口, 韶关, 天府, "
        "重庆, 和林格尔, 贵安, 庆阳, 中卫"
    ),
    "hub-latency-target": (
        "《全国一体化大数据中心协同创新体系算力枢纽实施方案》(发改高技〔2021〕709号): data-centre end-to-end one-way "
        "latency within a hub node in principle within 20 ms"
    ),
    "latency-anchors": (
        "Public RTT anchors used to calibrate the distance model: Shanghai–Suzhou ~2-3 ms, Shanghai–Beijing "
        "~25-30 ms, Beijing–Ulanqab ~8-10 ms, Shanghai–Gui'an ~30-35 ms, Shanghai–Zhongwei ~35-40 ms"
    ),
}

TARIFF_POLICIES: dict[str, str] = {
    "cn-shanghai": "tou-sh",
    "cn-suzhou": "tou-js",
    "cn-hangzhou": "tou-zj",
    "cn-beijing": "tou-bj",
    "cn-ulanqab": "tou-mx",
    "cn-guian": "tou-gz",
    "cn-zhongwei": "tou-nx",
    "cn-chengdu": "tou-sc",
    "cn-qingyang": "tou-gs",
    "cn-shaoguan": "tou-gd",
}

REGION_FACTS: dict[str, dict] = {
    "cn-shanghai": {  # base = the 8 months outside Jan, Jul-Sep, Dec
        "timezone": TIMEZONE,
        "peak_hours": [(8, 11), (18, 21)],
        "off_peak_hours": [(0, 6), (22, 24)],
        "electricity_cny_per_kwh": Decimal("0.75"),
        "hub": "长三角",
    },
    "cn-suzhou": {  # Jiangsu summer/winter schedule (Jun-Aug, Dec-Feb); spring/autumn differs
        "timezone": TIMEZONE,
        "peak_hours": [(14, 22)],
        "off_peak_hours": [(0, 6), (11, 13)],
        "electricity_cny_per_kwh": Decimal("0.70"),
        "hub": "长三角",
    },
    "cn-hangzhou": {  # same windows all year since 2026-07-01
        "timezone": TIMEZONE,
        "peak_hours": [(16, 23)],
        "off_peak_hours": [(0, 7), (11, 14)],
        "electricity_cny_per_kwh": Decimal("0.72"),
        "hub": "长三角",
    },
    "cn-beijing": {
        "timezone": TIMEZONE,
        "peak_hours": [(10, 13), (17, 22)],
        "off_peak_hours": [(0, 7), (23, 24)],
        "electricity_cny_per_kwh": Decimal("0.78"),
        "hub": "京津冀",
    },
    "cn-ulanqab": {  # 蒙西 windy-season schedule (9 months); the midday valley follows solar output
        "timezone": TIMEZONE,
        "peak_hours": [(6, 8), (18, 22)],
        "off_peak_hours": [(0, 4), (11, 16)],
        "electricity_cny_per_kwh": Decimal("0.42"),
        "hub": "内蒙古",
    },
    "cn-guian": {
        "timezone": TIMEZONE,
        "peak_hours": [(10, 13), (17, 22)],
        "off_peak_hours": [(0, 8)],
        "electricity_cny_per_kwh": Decimal("0.55"),
        "hub": "贵州",
    },
    "cn-zhongwei": {
        "timezone": TIMEZONE,
        "peak_hours": [(7, 9), (17, 23)],
        "off_peak_hours": [(9, 17)],
        "electricity_cny_per_kwh": Decimal("0.45"),
        "hub": "宁夏",
    },
    "cn-chengdu": {  # spring/autumn schedule (6 months); summer and winter differ
        "timezone": TIMEZONE,
        "peak_hours": [(10, 12), (17, 22)],
        "off_peak_hours": [(0, 8), (22, 24)],
        "electricity_cny_per_kwh": Decimal("0.62"),
        "hub": "成渝",
    },
    "cn-qingyang": {
        "timezone": TIMEZONE,
        "peak_hours": [(6, 8), (18, 23)],
        "off_peak_hours": [(10, 16)],
        "electricity_cny_per_kwh": Decimal("0.50"),
        "hub": "甘肃",
    },
    "cn-shaoguan": {
        "timezone": TIMEZONE,
        "peak_hours": [(10, 12), (14, 19)],
        "off_peak_hours": [(0, 8)],
        "electricity_cny_per_kwh": Decimal("0.70"),
        "hub": "粤港澳",
    },
}

# RTT (ms) = max(2, round(1.5 + 0.022 * great_circle_km)): light in fibre ~5 µs/km each way (10 µs/km round trip),
# times a route factor of 2.2 for real fibre paths and backbone detours, plus ~1.5 ms of equipment. The factor is
# calibrated on the anchors in SOURCES["latency-anchors"]. Coordinates are the city centres (Gui'an: 26.40N 106.43E).
LATENCY_MODEL = {
    "fibre_us_per_km_round_trip": 10,
    "route_factor": Decimal("2.2"),
    "equipment_ms": Decimal("1.5"),
    "minimum_ms": 2,
}

LATENCY_MS: dict[tuple[str, str], int] = {
    ("cn-shanghai", "cn-suzhou"): 3,  # 84 km
    ("cn-shanghai", "cn-hangzhou"): 5,  # 165 km
    ("cn-shanghai", "cn-beijing"): 25,  # 1067 km
    ("cn-shanghai", "cn-ulanqab"): 31,  # 1321 km
    ("cn-shanghai", "cn-guian"): 36,  # 1559 km
    ("cn-shanghai", "cn-zhongwei"): 38,  # 1646 km
    ("cn-shanghai", "cn-chengdu"): 38,  # 1659 km
    ("cn-shanghai", "cn-qingyang"): 32,  # 1375 km
    ("cn-shanghai", "cn-shaoguan"): 25,  # 1051 km
    ("cn-suzhou", "cn-hangzhou"): 4,  # 122 km
    ("cn-suzhou", "cn-beijing"): 24,  # 1028 km
    ("cn-suzhou", "cn-ulanqab"): 29,  # 1271 km
    ("cn-suzhou", "cn-guian"): 34,  # 1481 km
    ("cn-suzhou", "cn-zhongwei"): 36,  # 1569 km
    ("cn-suzhou", "cn-chengdu"): 36,  # 1575 km
    ("cn-suzhou", "cn-qingyang"): 30,  # 1296 km
    ("cn-suzhou", "cn-shaoguan"): 23,  # 995 km
    ("cn-hangzhou", "cn-beijing"): 26,  # 1124 km
    ("cn-hangzhou", "cn-ulanqab"): 31,  # 1353 km
    ("cn-hangzhou", "cn-guian"): 33,  # 1410 km
    ("cn-hangzhou", "cn-zhongwei"): 37,  # 1596 km
    ("cn-hangzhou", "cn-chengdu"): 35,  # 1541 km
    ("cn-hangzhou", "cn-qingyang"): 30,  # 1314 km
    ("cn-hangzhou", "cn-shaoguan"): 21,  # 887 km
    ("cn-beijing", "cn-ulanqab"): 8,  # 304 km
    ("cn-beijing", "cn-guian"): 40,  # 1762 km
    ("cn-beijing", "cn-zhongwei"): 24,  # 1008 km
    ("cn-beijing", "cn-chengdu"): 35,  # 1517 km
    ("cn-beijing", "cn-qingyang"): 21,  # 899 km
    ("cn-beijing", "cn-shaoguan"): 39,  # 1698 km
    ("cn-ulanqab", "cn-guian"): 40,  # 1739 km
    ("cn-ulanqab", "cn-zhongwei"): 19,  # 788 km
    ("cn-ulanqab", "cn-chengdu"): 33,  # 1411 km
    ("cn-ulanqab", "cn-qingyang"): 18,  # 761 km
    ("cn-ulanqab", "cn-shaoguan"): 41,  # 1804 km
    ("cn-guian", "cn-zhongwei"): 29,  # 1240 km
    ("cn-guian", "cn-chengdu"): 13,  # 527 km
    ("cn-guian", "cn-qingyang"): 24,  # 1042 km
    ("cn-guian", "cn-shaoguan"): 18,  # 740 km
    ("cn-zhongwei", "cn-chengdu"): 18,  # 768 km
    ("cn-zhongwei", "cn-qingyang"): 8,  # 296 km
    ("cn-zhongwei", "cn-shaoguan"): 37,  # 1620 km
    ("cn-chengdu", "cn-qingyang"): 16,  # 652 km
    ("cn-chengdu", "cn-shaoguan"): 27,  # 1141 km
    ("cn-qingyang", "cn-shaoguan"): 31,  # 1340 km
}


def latency_ms(a: str, b: str) -> int:
    """Round-trip latency between two regions in either order; 0 for the same region."""
    if a == b:
        return 0
    try:
        return LATENCY_MS[(a, b)]
    except KeyError:
        return LATENCY_MS[(b, a)]
