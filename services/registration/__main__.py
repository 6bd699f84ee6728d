from services.registration.app import create_app
from shared.serve import serve

serve("registration", create_app, default_port=8001)
