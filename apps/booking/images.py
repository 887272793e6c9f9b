"""The curated images a workload can run in: one list, as data. The booking form, the API
(``GET /api/v1/images/``) and validation all read it from here.

``vendors`` are the catalog's accelerator vendors (``AcceleratorModel.Vendor``) the image's framework
build runs on: a CUDA build cannot drive an Ascend NPU, and MindSpore's Ascend build needs CANN. A
booking whose models or vendors fall outside them is refused; a booking for "any" model is placed
only on the image's vendors. To offer another image or a newer tag, edit this list (no migration:
workloads store the key, and the reference they ran with is copied into their run spec).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _


@dataclass(frozen=True)
class Image:
    key: str
    name: str
    ref: str
    vendors: tuple[str, ...]
    description: object  # lazy translation

    def as_dict(self) -> dict:
        return {"key": self.key, "name": self.name, "ref": self.ref, "vendors": list(self.vendors),
                "description": str(self.description)}


IMAGES: tuple[Image, ...] = (
    Image("pytorch", "PyTorch 2.5", "pytorch/pytorch:2.5.1-cuda12.4-cudnn9-runtime", ("nvidia",),
          _("PyTorch with CUDA 12.4 and cuDNN 9: training and notebooks.")),
    Image("tensorflow", "TensorFlow 2.18", "tensorflow/tensorflow:2.18.0-gpu", ("nvidia",),
          _("TensorFlow with GPU support.")),
    Image("mindspore", "MindSpore 2.3 (Ascend)", "swr.cn-south-1.myhuaweicloud.com/mindspore/mindspore-ascend:2.3.1",
          ("huawei",), _("MindSpore with CANN, for Huawei Ascend NPUs only.")),
    Image("vllm", "vLLM 0.6", "vllm/vllm-openai:v0.6.4", ("nvidia",),
          _("vLLM's OpenAI-compatible inference server for large language models.")),
    Image("cuda-base", "CUDA 12.4 base", "nvidia/cuda:12.4.1-base-ubuntu22.04", ("nvidia",),
          _("A plain Ubuntu 22.04 with the CUDA 12.4 runtime: bring your own stack.")),
)

BY_KEY: dict[str, Image] = {image.key: image for image in IMAGES}


def image_get(key: str) -> Image | None:
    return BY_KEY.get(key)


def image_choices() -> list[tuple[str, str]]:
    return [(image.key, image.name) for image in IMAGES]
