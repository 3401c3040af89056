from django.http import HttpResponse
def error_403(request, exception=None): return HttpResponse(status=403)
def error_404(request, exception=None): return HttpResponse(status=404)
def error_500(request): return HttpResponse(status=500)
