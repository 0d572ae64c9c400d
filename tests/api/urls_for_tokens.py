"""A test-only URLconf: one DRF view behind BearerTokenAuthentication, to test tokens without the API."""

from django.urls import path
from rest_framework.authentication import SessionAuthentication
from rest_framework.permissions import IsAuthenticated
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from flowforge_admin.rest.authentication import BearerTokenAuthentication


class WhoAmIView(APIView):
    """Says who the request is and by which token."""

    authentication_classes = [BearerTokenAuthentication, SessionAuthentication]
    permission_classes = [IsAuthenticated]
    renderer_classes = [JSONRenderer]

    def get(self, request):
        token = request.auth
        return Response({"username": request.user.username, "token": getattr(token, "pk", None)})


urlpatterns = [path("whoami/", WhoAmIView.as_view(), name="whoami")]
