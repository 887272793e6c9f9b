from rest_framework import generics, serializers

from ..models import Region
from ..selectors import region_list


class RegionSerializer(serializers.ModelSerializer):
    class Meta:
        model = Region
        fields = ["code", "name", "name_zh", "province", "timezone"]


class RegionListView(generics.ListAPIView):
    """Reference data, the same for every tenant."""

    serializer_class = RegionSerializer

    def get_queryset(self):
        return region_list()
