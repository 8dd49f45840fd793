from django.urls import path

from screening import views

app_name = "screening"

urlpatterns = [
    path("", views.start, name="start"),
    path("check/", views.begin, name="begin"),
    path("check/question/<str:question_id>/", views.question, name="question"),
    path("check/answers/", views.check_answers, name="check_answers"),
    path("check/result/", views.result, name="result"),
    path("check/result/print/", views.result_print, name="result_print"),
    path("check/clear/", views.clear, name="clear"),
    path("about-the-cream/", views.education, name="education"),
    path("language/", views.switch_language, name="language"),
]
