from django.urls import path

from screening.views import check, education, handoff, language

app_name = "screening"

urlpatterns = [
    path("", language.start, name="start"),
    path("check/", check.begin, name="begin"),
    path("check/question/<str:question_id>/", check.question, name="question"),
    path("check/answers/", check.check_answers, name="check_answers"),
    path("check/result/", check.result, name="result"),
    path("check/result/print/", check.result_print, name="result_print"),
    path("check/result/handoff/", handoff.make, name="handoff"),
    path("check/clear/", check.clear, name="clear"),
    path("about-the-cream/", education.education, name="education"),
    path("language/", language.switch_language, name="language"),
]
