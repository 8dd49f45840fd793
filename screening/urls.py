from django.urls import path

from screening import views

urlpatterns = [
    path("", views.start, name="start"),
]
