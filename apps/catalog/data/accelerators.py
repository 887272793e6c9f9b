"""Reference catalog of accelerator models (GPUs and NPUs) that TideGrid schedules.

Pure data: no Django imports, so the placement engine, the agents and the data migrations can all read it.
Every figure is traceable through ``source_ids`` into ``SOURCES``; figures that are estimates or that the vendor
does not publish are listed in ``FIGURE_NOTES`` (see docs/catalog-sources.md for the full audit trail).

Conventions
-----------
* ``memory_mib`` is the nominal capacity (marketing GB taken as GiB, x 1024). The driver usually reports a little
  less (e.g. an H100 80GB shows 81559 MiB, an H20 97871 MiB); the agent reports the real total per device.
* ``fp16_tflops`` is dense FP16/BF16 tensor throughput without structured sparsity.
* ``0`` in ``fp32_tflops`` or ``tdp_w`` means "not published / unknown", never "zero"; see ``FIGURE_NOTES``.
* ``nvml_names`` are the exact product strings the driver reports (``nvidia-smi``/NVML, ``npu-smi`` chip name,
  ``ixsmi``, ``cnmon``, ``hy-smi``); the agent's inventory is matched against them.
* ``profiles``: ``compute_milli = round(1000 * slices / total_slices)``; ``memory_mib`` is the memory the slice
  really gets (MIG: from ``nvidia-smi mig -lgip``, the smallest value seen across published driver versions);
  ``max_per_device`` is the most instances of that one profile a single device can hold.
"""

from decimal import Decimal

SLICING_MODES = ("fractional", "mig", "vnpu", "whole")
VENDORS = ("nvidia", "huawei", "iluvatar", "cambricon", "hygon")

SOURCES: dict[str, str] = {
    # NVIDIA datasheets and MIG documentation
    "nvidia-h100": "NVIDIA H100 Tensor Core GPU datasheet — https://www.nvidia.com/en-us/data-center/h100/",
    "nvidia-h20": (
        "NVIDIA H20 (China-market Hopper, 2024) — no public nvidia.com datasheet; 96 GB HBM3, 148 TFLOPS "
        "FP16/BF16 dense, 44 TFLOPS FP32, 400 W, NVLink 900 GB/s as widely reported from the product brief"
    ),
    "nvidia-a100": "NVIDIA A100 Tensor Core GPU datasheet — https://www.nvidia.com/en-us/data-center/a100/",
    "nvidia-a800": (
        "NVIDIA A800 (China-market A100 variant: same GA100 compute and memory, NVLink limited to 400 GB/s) — "
        "https://www.nvidia.cn/data-center/a800/ (URL not verified)"
    ),
    "nvidia-l40s": "NVIDIA L40S datasheet — https://www.nvidia.com/en-us/data-center/l40s/",
    "nvidia-ada-whitepaper": (
        "NVIDIA Ada GPU Architecture whitepaper (RTX 4090 tensor throughput, FP16 with FP32 accumulate) — "
        "https://images.nvidia.com/aem-dam/Solutions/geforce/ada/nvidia-ada-gpu-architecture.pdf"
    ),
    "nvidia-rtx4090": "GeForce RTX 4090 specifications — https://www.nvidia.com/en-us/geforce/graphics-cards/40-series/rtx-4090/",
    "nvidia-t4": "NVIDIA T4 datasheet — https://www.nvidia.com/en-us/data-center/tesla-t4/",
    "nvidia-v100": "NVIDIA V100 datasheet — https://www.nvidia.com/en-us/data-center/v100/",
    "nvidia-mig-profiles": (
        "NVIDIA MIG User Guide, Supported MIG Profiles (A100 40GB/80GB, H100 80GB tables) — "
        "https://docs.nvidia.com/datacenter/tesla/mig-user-guide/supported-mig-profiles.html"
    ),
    "nvidia-mig-gpus": (
        "NVIDIA MIG User Guide, Supported GPUs (lists H20 96GB, 7 instances) — "
        "https://docs.nvidia.com/datacenter/tesla/mig-user-guide/supported-gpus.html"
    ),
    "nvidia-mig-parted": (
        "NVIDIA mig-parted default config (device 0x2329 = H20 in the 96GB profile family; 0x20F3/0x20F5 = A800-80GB "
        "in the 80GB family) — https://github.com/NVIDIA/mig-parted/blob/main/deployments/systemd/config-default.yaml"
    ),
    "mig-lgip-transcripts": (
        "Published `nvidia-smi mig -lgip` transcripts: A100-SXM4-40GB (MIG guide example, 4.75/9.62/19.50/39.25 GiB), "
        "A100 80GB PCIe driver 515.86 (9.50/19.50/39.25/79.00 GiB), H100 80GB (9.75/19.62/39.50/79.25 GiB), "
        "H20 driver 535.247 (1g.12gb = 11.75 GiB, 12032 MiB per MIG device)"
    ),
    # HAMi (fractional sharing of every vendor, Ascend vNPU templates)
    "hami-device-config": (
        "HAMi scheduler device config (vNPU templates for 910B2/910B3/910B4/310P3, Iluvatar BI-V150 vGPU, "
        "MIG allowlist) — https://github.com/Project-HAMi/HAMi/blob/master/charts/hami/templates/scheduler/"
        "device-configmap.yaml"
    ),
    "hami-faq": (
        "HAMi FAQ 'supported vendors and models': Hygon Z100/Z100L/K100-AI (core 1%, memory 1M), Cambricon 370/590 "
        "(core 1%, memory 256M), Iluvatar all models (core 1%, memory 256M) — https://project-hami.io/docs/faq "
        "(URL not verified; text read from the HAMi website sources)"
    ),
    "hami-iluvatar": "HAMi Iluvatar GPU sharing — https://github.com/Project-HAMi/HAMi/blob/master/docs/iluvatar-gpu-support.md",
    "hami-cambricon": (
        "HAMi Cambricon MLU sharing (MLU-370 only, memory control) — "
        "https://github.com/Project-HAMi/HAMi/blob/master/docs/cambricon-mlu-support.md"
    ),
    "hami-hygon": (
        "HAMi Hygon DCU sharing (hygon.com/dcumem, hygon.com/dcucores) — "
        "https://github.com/Project-HAMi/HAMi/blob/master/docs/hygon-dcu-support.md"
    ),
    # Huawei Ascend
    "ascend-vnpu-templates": (
        "Huawei MindCluster 虚拟化实例模板 (Atlas A2 training: vir05_1c_16g, vir10_3c_32g, vir06_1c_16g, "
        "vir12_3c_32g; Atlas A2 inference adds vir05_1c_8g, vir10_3c_16g; Atlas inference (310P, 8 AI cores): vir01, "
        "vir02, vir04, vir02_1c, vir04_3c, vir04_3c_ndvpp, vir04_4c_dvpp) — https://gitcode.com/Ascend/mind-cluster "
        "docs/zh/scheduling/usage/virtual_instance/virtual_instance_with_hdk/03_virtualization_templates.md"
    ),
    "ascend-vnpu-combinations": (
        "Huawei AVI 虚拟化实例组合: an Atlas inference (310P) chip has 7 AI CPUs and supports at most 7 vNPUs — "
        "https://www.hiascend.com/document/detail/zh/mindx-dl/500/AVI/cpaug/cpaug_007.html"
    ),
    "ascend-910b-community": (
        "Ascend 910B per-SKU figures (910B3: 20 AI cores, 64 GB HBM2e, ~313 TFLOPS FP16; 910B4: 20 AI cores, 32 GB, "
        "~280 TFLOPS) — Huawei publishes no per-SKU chip datasheet; community-compiled values, e.g. "
        "https://github.com/FlyTOmeLight/llm-cal/blob/main/src/llm_cal/hardware/gpu_database.yaml"
    ),
    "atlas-300i-pro": (
        "Huawei Atlas 300I Pro inference card (one Ascend 310P3: 140 TOPS INT8, 70 TFLOPS FP16, 24 GB LPDDR4X, "
        "72 W, PCIe 4.0 x16) — https://e.huawei.com/cn/products/computing/ascend/atlas-300i-pro (URL not verified)"
    ),
    # Iluvatar CoreX
    "iluvatar-ixsmi": (
        "Published `ixsmi` output: each 'Iluvatar BI-V150' device reports 32768 MiB and a 350 W power cap "
        "(CoreX 4.3.8); 16 compute units, warp 64"
    ),
    "iluvatar-bi-v150-fp16": (
        "BI-V150 FP16 peak 'often cited as 192 TFLOP/s' (Iluvatar course material); no vendor datasheet found"
    ),
    # Cambricon
    "cambricon-mlu370-x8": (
        "Cambricon MLU370-X8 product page / launch release (2022-03): 2x 思元370, 48 GB LPDDR5 614.4 GB/s, "
        "FP32 32 / FP16 96 / BF16 96 TFLOPS, 250 W, MLU-Link 200 GB/s per card — "
        "https://www.cambricon.com/index.php?a=lists&c=index&catid=406&m=content"
    ),
    # Hygon
    "hygon-vdcu": (
        "Hygon vDCU user guide (static vDCU via hy-virtual, at most 4 vDCUs per physical card) — "
        "https://blog.csdn.net/qq_27815483/article/details/141926963"
    ),
    "hygon-k100-ai": (
        "Hygon DCU K100_AI (gfx928): 64 GB HBM2e per card as reported by public deployment guides (SCNet / "
        "国家超算互联网 K100_AI instances); no vendor datasheet found for compute or power figures"
    ),
}


def _mig(name: str, memory_mib: int, max_per_device: int) -> dict:
    """A MIG GPU-instance profile; the compute share is the number of 1/7 SM slices in the name."""
    slices = int(name.split("g.", 1)[0])
    return {"name": name, "compute_milli": round(1000 * slices / 7), "memory_mib": memory_mib,
            "max_per_device": max_per_device}


def _vnpu(name: str, ai_cores: int, total_ai_cores: int, memory_mib: int, max_per_device: int) -> dict:
    """An Ascend vNPU template; the compute share is its AI cores over the chip's AI cores."""
    return {"name": name, "compute_milli": round(1000 * ai_cores / total_ai_cores), "memory_mib": memory_mib,
            "max_per_device": max_per_device}


# MIG profile tables. Memory is what the driver hands the instance (nvidia-smi mig -lgip, GiB x 1024). A 1g profile
# with two memory slices (1g.10gb on A100-40GB, 1g.20gb on 80GB parts) gets the same memory as the 2g profile.
_A100_40GB_MIG = [
    _mig("1g.5gb", 4864, 7),  # 4.75 GiB
    _mig("1g.10gb", 9856, 4),  # 9.62 GiB
    _mig("2g.10gb", 9856, 3),
    _mig("3g.20gb", 19968, 2),  # 19.50 GiB
    _mig("4g.20gb", 19968, 1),
    _mig("7g.40gb", 40192, 1),  # 39.25 GiB
]
_A100_80GB_MIG = [  # also A800 80GB (same GA100 memory layout, mig-parted groups them)
    _mig("1g.10gb", 9728, 7),  # 9.50 GiB
    _mig("1g.20gb", 19968, 4),  # 19.50 GiB
    _mig("2g.20gb", 19968, 3),
    _mig("3g.40gb", 40192, 2),  # 39.25 GiB
    _mig("4g.40gb", 40192, 1),
    _mig("7g.80gb", 80896, 1),  # 79.00 GiB
]
_H100_80GB_MIG = [
    _mig("1g.10gb", 9984, 7),  # 9.75 GiB
    _mig("1g.20gb", 20096, 4),  # 19.625 GiB (printed 19.62)
    _mig("2g.20gb", 20096, 3),
    _mig("3g.40gb", 40448, 2),  # 39.50 GiB
    _mig("4g.40gb", 40448, 1),
    _mig("7g.80gb", 81152, 1),  # 79.25 GiB
]
# H20: only the 1g.12gb size is published (11.75 GiB); the larger profiles use n x 12032 MiB, a lower bound (on every
# part with published figures the n-slice profile gets at least n times the 1-slice memory).
_H20_96GB_MIG = [
    _mig("1g.12gb", 12032, 7),
    _mig("1g.24gb", 24064, 4),
    _mig("2g.24gb", 24064, 3),
    _mig("3g.48gb", 48128, 2),
    _mig("4g.48gb", 48128, 1),
    _mig("7g.96gb", 96256, 1),
]

# Ascend vNPU templates. 910B3/910B4: 20 AI cores, 7 AI CPUs; the instance limit is whichever of AI cores, memory or
# AI CPUs runs out first. 310P3: 8 AI cores, 7 AI CPUs, 3 GB per AI core, at most 7 vNPUs per chip.
_ASCEND_910B3_VNPU = [
    _vnpu("vir05_1c_16g", 5, 20, 16384, 4),
    _vnpu("vir10_3c_32g", 10, 20, 32768, 2),
]
_ASCEND_910B4_VNPU = [
    _vnpu("vir05_1c_8g", 5, 20, 8192, 4),
    _vnpu("vir10_3c_16g", 10, 20, 16384, 2),
]
_ASCEND_310P3_VNPU = [
    _vnpu("vir01", 1, 8, 3072, 7),  # 7 AI CPUs: the 8th AI core cannot get its own vNPU
    _vnpu("vir02", 2, 8, 6144, 3),  # 2 AI CPUs each
    _vnpu("vir02_1c", 2, 8, 6144, 4),
    _vnpu("vir04", 4, 8, 12288, 1),  # 4 AI CPUs each
    _vnpu("vir04_3c", 4, 8, 12288, 2),
    _vnpu("vir04_3c_ndvpp", 4, 8, 12288, 2),
    _vnpu("vir04_4c_dvpp", 4, 8, 12288, 1),  # takes all media (DVPP) engines
]

ACCELERATORS: list[dict] = [
    # --- NVIDIA: MIG-capable data-centre parts -------------------------------------------------------------------
    {
        "code": "nvidia-h100-80gb",
        "vendor": "nvidia",
        "name": "NVIDIA H100 80GB SXM",
        "nvml_names": ["NVIDIA H100 80GB HBM3"],
        "memory_mib": 81920,
        "memory_type": "HBM3",
        "fp16_tflops": Decimal("989.5"),
        "fp32_tflops": Decimal("67"),
        "tdp_w": 700,
        "interconnect": "NVLink 900 GB/s",
        "architecture": "Hopper",
        "slicing": "mig",
        "profiles": _H100_80GB_MIG,
        "source_ids": ["nvidia-h100", "nvidia-mig-profiles", "mig-lgip-transcripts"],
    },
    {
        "code": "nvidia-h20-96gb",
        "vendor": "nvidia",
        "name": "NVIDIA H20 96GB",
        "nvml_names": ["NVIDIA H20"],
        "memory_mib": 98304,
        "memory_type": "HBM3",
        "fp16_tflops": Decimal("148"),
        "fp32_tflops": Decimal("44"),
        "tdp_w": 400,
        "interconnect": "NVLink 900 GB/s",
        "architecture": "Hopper",
        "slicing": "mig",
        "profiles": _H20_96GB_MIG,
        "source_ids": ["nvidia-h20", "nvidia-mig-gpus", "nvidia-mig-parted", "mig-lgip-transcripts",
                       "hami-device-config"],
    },
    {
        "code": "nvidia-a100-40gb",
        "vendor": "nvidia",
        "name": "NVIDIA A100 40GB SXM",
        "nvml_names": ["NVIDIA A100-SXM4-40GB", "NVIDIA A100-PCIE-40GB"],
        "memory_mib": 40960,
        "memory_type": "HBM2",
        "fp16_tflops": Decimal("312"),
        "fp32_tflops": Decimal("19.5"),
        "tdp_w": 400,
        "interconnect": "NVLink 600 GB/s",
        "architecture": "Ampere",
        "slicing": "mig",
        "profiles": _A100_40GB_MIG,
        "source_ids": ["nvidia-a100", "nvidia-mig-profiles", "mig-lgip-transcripts"],
    },
    {
        "code": "nvidia-a100-80gb",
        "vendor": "nvidia",
        "name": "NVIDIA A100 80GB SXM",
        "nvml_names": ["NVIDIA A100-SXM4-80GB", "NVIDIA A100 80GB PCIe"],
        "memory_mib": 81920,
        "memory_type": "HBM2e",
        "fp16_tflops": Decimal("312"),
        "fp32_tflops": Decimal("19.5"),
        "tdp_w": 400,
        "interconnect": "NVLink 600 GB/s",
        "architecture": "Ampere",
        "slicing": "mig",
        "profiles": _A100_80GB_MIG,
        "source_ids": ["nvidia-a100", "nvidia-mig-profiles", "mig-lgip-transcripts"],
    },
    {
        "code": "nvidia-a800-80gb",
        "vendor": "nvidia",
        "name": "NVIDIA A800 80GB SXM",
        "nvml_names": ["NVIDIA A800-SXM4-80GB", "NVIDIA A800 80GB PCIe"],
        "memory_mib": 81920,
        "memory_type": "HBM2e",
        "fp16_tflops": Decimal("312"),
        "fp32_tflops": Decimal("19.5"),
        "tdp_w": 400,
        "interconnect": "NVLink 400 GB/s",
        "architecture": "Ampere",
        "slicing": "mig",
        "profiles": [dict(profile) for profile in _A100_80GB_MIG],
        "source_ids": ["nvidia-a800", "nvidia-a100", "nvidia-mig-parted", "nvidia-mig-profiles"],
    },
    # --- NVIDIA: shared fractionally (HAMi-core compute share + memory limit) -------------------------------------
    {
        "code": "nvidia-l40s",
        "vendor": "nvidia",
        "name": "NVIDIA L40S 48GB",
        "nvml_names": ["NVIDIA L40S"],
        "memory_mib": 49152,
        "memory_type": "GDDR6",
        "fp16_tflops": Decimal("362"),  # datasheet: 362.05
        "fp32_tflops": Decimal("91.6"),
        "tdp_w": 350,
        "interconnect": "PCIe Gen4 x16 64 GB/s (no NVLink)",
        "architecture": "Ada Lovelace",
        "slicing": "fractional",
        "profiles": [],
        "source_ids": ["nvidia-l40s", "hami-device-config"],
    },
    {
        "code": "nvidia-rtx-4090",
        "vendor": "nvidia",
        "name": "NVIDIA GeForce RTX 4090 24GB",
        "nvml_names": ["NVIDIA GeForce RTX 4090"],
        "memory_mib": 24576,
        "memory_type": "GDDR6X",
        "fp16_tflops": Decimal("165.2"),
        "fp32_tflops": Decimal("82.6"),
        "tdp_w": 450,
        "interconnect": "PCIe Gen4 x16 64 GB/s (no NVLink)",
        "architecture": "Ada Lovelace",
        "slicing": "fractional",
        "profiles": [],
        "source_ids": ["nvidia-rtx4090", "nvidia-ada-whitepaper", "hami-device-config"],
    },
    {
        "code": "nvidia-t4",
        "vendor": "nvidia",
        "name": "NVIDIA T4 16GB",
        "nvml_names": ["Tesla T4"],
        "memory_mib": 16384,
        "memory_type": "GDDR6",
        "fp16_tflops": Decimal("65"),
        "fp32_tflops": Decimal("8.1"),
        "tdp_w": 70,
        "interconnect": "PCIe Gen3 x16 32 GB/s",
        "architecture": "Turing",
        "slicing": "fractional",
        "profiles": [],
        "source_ids": ["nvidia-t4", "hami-device-config"],
    },
    {
        "code": "nvidia-v100-16gb",
        "vendor": "nvidia",
        "name": "NVIDIA V100 16GB SXM2",
        "nvml_names": ["Tesla V100-SXM2-16GB", "Tesla V100-PCIE-16GB"],
        "memory_mib": 16384,
        "memory_type": "HBM2",
        "fp16_tflops": Decimal("125"),
        "fp32_tflops": Decimal("15.7"),
        "tdp_w": 300,
        "interconnect": "NVLink 300 GB/s",
        "architecture": "Volta",
        "slicing": "fractional",
        "profiles": [],
        "source_ids": ["nvidia-v100", "hami-device-config"],
    },
    {
        "code": "nvidia-v100-32gb",
        "vendor": "nvidia",
        "name": "NVIDIA V100 32GB SXM2",
        "nvml_names": ["Tesla V100-SXM2-32GB", "Tesla V100-PCIE-32GB"],
        "memory_mib": 32768,
        "memory_type": "HBM2",
        "fp16_tflops": Decimal("125"),
        "fp32_tflops": Decimal("15.7"),
        "tdp_w": 300,
        "interconnect": "NVLink 300 GB/s",
        "architecture": "Volta",
        "slicing": "fractional",
        "profiles": [],
        "source_ids": ["nvidia-v100", "hami-device-config"],
    },
    # --- Huawei Ascend: vNPU templates ---------------------------------------------------------------------------
    {
        "code": "huawei-ascend-910b3",
        "vendor": "huawei",
        "name": "Huawei Ascend 910B3 64GB",
        "nvml_names": ["910B3", "Ascend910B3"],
        "memory_mib": 65536,
        "memory_type": "HBM2e",
        "fp16_tflops": Decimal("313"),
        "fp32_tflops": Decimal("0"),
        "tdp_w": 0,
        "interconnect": "HCCS 56 GB/s per link, 8-NPU full mesh (7 links, 392 GB/s)",
        "architecture": "Da Vinci (Ascend 910B / Atlas A2)",
        "slicing": "vnpu",
        "profiles": _ASCEND_910B3_VNPU,
        "source_ids": ["ascend-910b-community", "ascend-vnpu-templates", "hami-device-config"],
    },
    {
        "code": "huawei-ascend-910b4",
        "vendor": "huawei",
        "name": "Huawei Ascend 910B4 32GB",
        "nvml_names": ["910B4"],
        "memory_mib": 32768,
        "memory_type": "HBM2e",
        "fp16_tflops": Decimal("280"),
        "fp32_tflops": Decimal("0"),
        "tdp_w": 0,
        "interconnect": "HCCS 56 GB/s per link, 8-NPU full mesh (7 links, 392 GB/s)",
        "architecture": "Da Vinci (Ascend 910B / Atlas A2)",
        "slicing": "vnpu",
        "profiles": _ASCEND_910B4_VNPU,
        "source_ids": ["ascend-910b-community", "ascend-vnpu-templates", "hami-device-config"],
    },
    {
        "code": "huawei-ascend-310p3",
        "vendor": "huawei",
        "name": "Huawei Atlas 300I Pro (Ascend 310P3) 24GB",
        "nvml_names": ["310P3"],
        "memory_mib": 24576,
        "memory_type": "LPDDR4X",
        "fp16_tflops": Decimal("70"),
        "fp32_tflops": Decimal("0"),
        "tdp_w": 72,
        "interconnect": "PCIe Gen4 x16",
        "architecture": "Da Vinci (Ascend 310P)",
        "slicing": "vnpu",
        "profiles": _ASCEND_310P3_VNPU,
        "source_ids": ["atlas-300i-pro", "ascend-vnpu-templates", "ascend-vnpu-combinations", "hami-device-config"],
    },
    # --- Chinese GPGPUs shared fractionally through HAMi --------------------------------------------------------
    {
        "code": "iluvatar-bi-v150",
        "vendor": "iluvatar",
        "name": "Iluvatar CoreX BI-V150 (天垓150)",
        "nvml_names": ["Iluvatar BI-V150"],
        "memory_mib": 32768,
        "memory_type": "HBM2e",
        "fp16_tflops": Decimal("192"),
        "fp32_tflops": Decimal("0"),
        "tdp_w": 350,
        "interconnect": "PCIe Gen4 x16",
        "architecture": "Iluvatar CoreX GPGPU (ivcore11)",
        "slicing": "fractional",
        "profiles": [],
        "source_ids": ["iluvatar-ixsmi", "iluvatar-bi-v150-fp16", "hami-device-config", "hami-iluvatar", "hami-faq"],
    },
    {
        "code": "cambricon-mlu370-x8",
        "vendor": "cambricon",
        "name": "Cambricon MLU370-X8 48GB",
        "nvml_names": ["MLU370-X8"],
        "memory_mib": 49152,
        "memory_type": "LPDDR5",
        "fp16_tflops": Decimal("96"),
        "fp32_tflops": Decimal("32"),
        "tdp_w": 250,
        "interconnect": "MLU-Link 200 GB/s per card (4-card bridge)",
        "architecture": "MLUarch03 (思元370)",
        "slicing": "fractional",
        "profiles": [],
        "source_ids": ["cambricon-mlu370-x8", "hami-cambricon", "hami-faq"],
    },
    {
        "code": "hygon-k100-ai",
        "vendor": "hygon",
        "name": "Hygon DCU K100-AI 64GB",
        "nvml_names": ["K100_AI"],
        "memory_mib": 65536,
        "memory_type": "HBM2e",
        "fp16_tflops": Decimal("196"),
        "fp32_tflops": Decimal("0"),
        "tdp_w": 0,
        "interconnect": "PCIe (inter-card link figures not published)",
        "architecture": "Hygon DCU gfx928 (ROCm/HIP-compatible DTK)",
        "slicing": "fractional",
        "profiles": [],
        "source_ids": ["hygon-k100-ai", "hami-faq", "hami-hygon", "hygon-vdcu"],
    },
]

# Figures that are not vendor-datasheet values. A field listed here is either an estimate (third-party or derived)
# or, when its value is 0, unknown. Keep docs/catalog-sources.md in step.
FIGURE_NOTES: dict[str, dict[str, str]] = {
    "nvidia-h20-96gb": {
        "fp16_tflops": "from the China product brief as widely reported; no public nvidia.com datasheet",
        "profiles": "only 1g.12gb memory (12032 MiB) is measured; larger profiles are n x 12032 MiB lower bounds",
    },
    "nvidia-rtx-4090": {
        "fp16_tflops": "FP16/BF16 tensor with FP32 accumulate (165.2); 330.3 with FP16 accumulate",
    },
    "nvidia-h100-80gb": {
        "fp16_tflops": "half of the datasheet's 1,979 TFLOPS, which is quoted with sparsity",
    },
    "huawei-ascend-910b3": {
        "fp16_tflops": "community figure (Huawei publishes no per-SKU chip TFLOPS); core-count x clock gives ~295",
        "fp32_tflops": "unknown (not published)",
        "tdp_w": "unknown (not published per chip)",
    },
    "huawei-ascend-910b4": {
        "fp16_tflops": "community figure (Huawei publishes no per-SKU chip TFLOPS)",
        "fp32_tflops": "unknown (not published)",
        "tdp_w": "unknown (not published per chip)",
    },
    "huawei-ascend-310p3": {
        "fp32_tflops": "unknown (Atlas 300I Pro datasheet gives INT8 and FP16 only)",
        "profiles": "memory per template assumed 3 GB per AI core (HAMi config); instance limits derived from 8 AI "
                    "cores / 7 AI CPUs / 7 vNPUs per chip",
    },
    "iluvatar-bi-v150": {
        "fp16_tflops": "third-party figure (course material: 'often cited as 192'), no vendor datasheet found",
        "fp32_tflops": "unknown (not published)",
    },
    "hygon-k100-ai": {
        "fp16_tflops": "unverified estimate; no vendor datasheet found",
        "fp32_tflops": "unknown (not published)",
        "tdp_w": "unknown (not published)",
    },
}
