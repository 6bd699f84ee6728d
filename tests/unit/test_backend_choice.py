from tests.support.backends import choose_backend


def test_configured_endpoints_win_over_everything() -> None:
    env = {"KAFKA_BOOTSTRAP_SERVERS": "k:9092", "DATABASE_URL": "postgresql://x@y/z"}
    assert choose_backend(env, docker_available=True) == "configured"
    assert choose_backend(env, docker_available=False) == "configured"


def test_docker_engine_means_testcontainers() -> None:
    assert choose_backend({}, docker_available=True) == "testcontainers"
    assert choose_backend({"KAFKA_BOOTSTRAP_SERVERS": "k:9092"}, docker_available=True) == "testcontainers"


def test_no_engine_and_no_endpoints_means_the_local_stack() -> None:
    assert choose_backend({}, docker_available=False) == "local"
    assert choose_backend({"XJ_TESTS_NO_DOCKER": "1"}, docker_available=True) == "local"
