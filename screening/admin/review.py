"""The review pages: send the draft for review, and a second clinician approves it (publishing it) or sends it back."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from django.contrib import admin, messages
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import path, reverse
from django.utils import timezone

from screening import review as reviews
from screening.admin.access import RecordAdmin, needs_permission, refused
from screening.admin.publish_form import ApproveForm, SendBackForm, SendForReviewForm
from screening.models import Review

# Django's ModelAdmin takes no type arguments at run time: the type checker alone sees it filled in.
if TYPE_CHECKING:
    ReviewModelAdmin = admin.ModelAdmin[Review]
else:
    ReviewModelAdmin = admin.ModelAdmin

TEMPLATES = "admin/screening/review"


@admin.register(Review)
class ReviewAdmin(RecordAdmin, ReviewModelAdmin):
    """Reviews are a record: read in the list, acted on in their own pages, never edited or deleted."""

    list_display = ["sent_at", "status", "author", "author_note", "reviewer", "reviewed_at", "published_version"]
    list_filter = ["status"]
    list_select_related = ["author", "reviewer", "published"]

    @admin.display(description="published as version")
    def published_version(self, obj: Review) -> str:
        return str(obj.published.version) if obj.published else "—"

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        # A review is read (and decided) on its own page.
        if not self.has_view_permission(request):
            raise PermissionDenied
        return HttpResponseRedirect(reverse("admin:screening_review_review", args=[object_id]))

    def history_view(self, request: HttpRequest, object_id: str, extra_context: dict[str, Any] | None = None) -> Any:
        # The review page is the record of who sent, reviewed and decided; refused before "not found".
        if not self.has_view_permission(request):
            raise PermissionDenied
        return HttpResponseRedirect(reverse("admin:screening_review_review", args=[object_id]))

    def get_urls(self) -> list[Any]:
        def view(function: Any) -> Any:
            return self.admin_site.admin_view(function)

        return [
            path("send/", view(self.send_view), name="screening_review_send"),
            path("<int:pk>/review/", view(self.review_view), name="screening_review_review"),
            path("<int:pk>/withdraw/", view(self.withdraw_view), name="screening_review_withdraw"),
            *super().get_urls(),
        ]

    def _context(self, request: HttpRequest, title: str, **extra: Any) -> dict[str, Any]:
        return {**self.admin_site.each_context(request), "title": title, "opts": self.model._meta, **extra}

    @needs_permission(reviews.SEND_PERMISSION)
    def send_view(self, request: HttpRequest) -> HttpResponse:
        state = reviews.draft_state()
        form = SendForReviewForm(
            request.POST or None, safety=state.safety, initial={"reviewed_draft": state.fingerprint}
        )
        refusal: reviews.ReviewRefused | None = None
        if request.method == "POST" and form.is_valid():
            try:
                sent = reviews.send_for_review(
                    author=cast(User, request.user),
                    note=form.cleaned_data["note"],
                    reasons=form.reasons(),
                    state=state,
                    reviewed_draft=form.cleaned_data["reviewed_draft"] or None,
                )
            except reviews.ReviewRefused as error:
                refusal = error
                # The page now shows the draft as it is: sending again sends that.
                form = SendForReviewForm(
                    {**request.POST.dict(), "reviewed_draft": state.fingerprint}, safety=state.safety
                )
            else:
                self.message_user(
                    request,
                    "Sent for review. A second clinician who may approve drafts reads it and approves it or sends it "
                    "back; patients see nothing new until then.",
                )
                return HttpResponseRedirect(reverse("admin:screening_review_review", args=[sent.pk]))
        context = self._context(
            request,
            "Send the draft for review",
            state=state,
            form=form,
            refusal=refusal,
            waiting=reviews.waiting_review(),
            single_clinician=reviews.single_clinician_publishing(),
        )
        return render(request, f"{TEMPLATES}/send.html", context, status=refusal.status if refusal else 200)

    @needs_permission("screening.view_review")
    def review_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        review = get_object_or_404(Review.objects.select_related("author", "reviewer", "published"), pk=pk)
        waiting = review.status == Review.Status.WAITING
        state = reviews.draft_state() if waiting else None
        cannot = reviews.may_approve(review, request.user)
        approve_form = ApproveForm(safety=state.safety if state else ())
        send_back_form = SendBackForm()
        refusal: reviews.ReviewRefused | None = None
        if request.method == "POST":
            if cannot:
                if not request.user.has_perm(reviews.APPROVE_PERMISSION):
                    return refused(request, reviews.APPROVE_PERMISSION, admin_site=self.admin_site)
                return self._not_allowed(request, cannot)
            action = request.POST.get("action")
            try:
                if action == "approve" and state is not None:
                    approve_form = ApproveForm(request.POST, safety=state.safety)
                    if approve_form.is_valid():
                        published = reviews.approve(
                            review=review,
                            reviewer=cast(User, request.user),
                            note=approve_form.cleaned_data["note"],
                            acknowledged=approve_form.cleaned_data["acknowledge"],
                        )
                        self.message_user(
                            request, f"Approved and published version {published.version}. Patients now see it."
                        )
                        return HttpResponseRedirect(reverse("admin:screening_publishedruleset_changelist"))
                elif action == "return":
                    send_back_form = SendBackForm(request.POST)
                    if send_back_form.is_valid():
                        reviews.send_back(
                            review=review,
                            reviewer=cast(User, request.user),
                            comment=send_back_form.cleaned_data["comment"],
                        )
                        self.message_user(request, "Sent back to its author with your comment. Nothing was published.")
                        return HttpResponseRedirect(reverse("admin:screening_review_review", args=[review.pk]))
            except reviews.NotAllowed as error:
                return self._not_allowed(request, str(error))
            except reviews.ReviewRefused as error:
                refusal = error
        stale = state is not None and state.fingerprint != review.draft_fingerprint
        newer = state is not None and state.live_version != review.live_version
        context = self._context(
            request,
            f"Review of the draft sent {timezone.localtime(review.sent_at):%d %b %Y %H:%M}",
            review=review,
            state=state,
            stale=stale,
            newer=newer,
            cannot=cannot,
            is_author=review.author_id is not None and review.author_id == request.user.pk,
            can_approve=waiting and not cannot and not stale and not newer,
            safety_rows=[(item, review.safety_reasons.get(item.key, "")) for item in state.safety] if state else [],
            approve_form=approve_form,
            ticked=request.POST.getlist("acknowledge") if request.method == "POST" else [],
            send_back_form=send_back_form,
            refusal=refusal,
        )
        return render(request, f"{TEMPLATES}/review.html", context, status=refusal.status if refusal else 200)

    @needs_permission(reviews.SEND_PERMISSION)
    def withdraw_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        review = get_object_or_404(Review, pk=pk)
        if request.method != "POST":
            return HttpResponseRedirect(reverse("admin:screening_review_review", args=[pk]))
        try:
            reviews.withdraw(review=review, user=request.user)
        except reviews.NotAllowed as error:
            return self._not_allowed(request, str(error))
        except reviews.ReviewRefused as error:
            self.message_user(request, " ".join(error.messages), messages.WARNING)
            return HttpResponseRedirect(reverse("admin:screening_review_review", args=[pk]))
        self.message_user(request, "Withdrawn. Change the draft if you need to, then send it for review again.")
        return HttpResponseRedirect(reverse("admin:screening_review_send"))

    def _not_allowed(self, request: HttpRequest, reason: str) -> HttpResponse:
        context = self._context(request, "You cannot do this", reason=reason)
        return render(request, f"{TEMPLATES}/not_allowed.html", context, status=403)
