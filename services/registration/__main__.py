from services.registration.app import create_app
from shared.serve import serve

if __name__ == "__main__":
    serve("registration", create_app, default_port=8001)
