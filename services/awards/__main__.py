from services.awards.app import create_app
from shared.serve import serve

serve("awards", create_app, default_port=8002)
