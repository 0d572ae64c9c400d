"""Pages of the REST API's lists: ``?page=N&page_size=M`` (50 by default, at most 500).

Every list has a stable order (its last key is the primary key), so that a
row never shows on two pages nor on none while nothing is added. The run
list counts as the admin's does: PostgreSQL's estimate instead of a
``COUNT(*)`` of a large unfiltered table (admin/paginator.py).
"""

from rest_framework.pagination import PageNumberPagination

from ..admin.paginator import EstimatedCountPaginator

PAGE_SIZE = 50
MAX_PAGE_SIZE = 500


class ApiPagination(PageNumberPagination):
    page_size = PAGE_SIZE
    page_size_query_param = "page_size"
    max_page_size = MAX_PAGE_SIZE
    django_paginator_class = EstimatedCountPaginator
