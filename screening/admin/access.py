"""Each page of the workflow asks for its own permission, and refuses in words when it is missing."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, Concatenate, Protocol

from django.contrib import admin
from django.contrib.admin.views.decorators import staff_member_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from screening.permissions import permission_label


class RecordAdmin:
    """For a ModelAdmin of records (published versions, reviews): read in the admin, never added,
    changed or deleted there."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class OnAdminSite(Protocol):
    admin_site: admin.AdminSite


def refused(request: HttpRequest, permission: str, *, admin_site: admin.AdminSite | None = None) -> HttpResponse:
    """403 with the admin's look, saying which permission is missing and whom to ask."""
    site = admin_site or admin.site
    context = {
        **site.each_context(request),
        "title": "You cannot open this page",
        "needed": permission_label(permission),
    }
    return render(request, "admin/screening/permission_denied.html", context, status=403)


def needs_permission[Views: OnAdminSite, **P](
    permission: str,
) -> Callable[
    [Callable[Concatenate[Views, HttpRequest, P], HttpResponse]],
    Callable[Concatenate[Views, HttpRequest, P], HttpResponse],
]:
    """For a view method of a ModelAdmin: the user must hold `permission` ("app_label.codename")."""

    def decorate(
        view: Callable[Concatenate[Views, HttpRequest, P], HttpResponse],
    ) -> Callable[Concatenate[Views, HttpRequest, P], HttpResponse]:
        @functools.wraps(view)
        def checked(views: Views, request: HttpRequest, /, *args: P.args, **kwargs: P.kwargs) -> HttpResponse:
            if not request.user.has_perm(permission):
                return refused(request, permission, admin_site=views.admin_site)
            return view(views, request, *args, **kwargs)

        return checked

    return decorate


PREVIEW_PERMISSION = "screening.preview_draft"


def previewing[**P](view: Callable[Concatenate[HttpRequest, P], HttpResponse]) -> Callable[..., HttpResponse]:
    """A patient page over the draft: staff sign in first, and need the preview permission."""

    @functools.wraps(view)
    def checked(request: HttpRequest, *args: P.args, **kwargs: P.kwargs) -> HttpResponse:
        if not request.user.has_perm(PREVIEW_PERMISSION):
            return refused(request, PREVIEW_PERMISSION)
        return view(request, *args, **kwargs)

    return staff_member_required(checked)
