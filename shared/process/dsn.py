"""PostgreSQL connection URIs, including libpq's multi-host form
`postgresql://user:pw@h1:5432,h2:5433/db?target_session_attrs=read-write` (a primary and
its standby: the client tries each host and keeps the one that takes writes).
`urllib.parse.urlsplit(...).port` fails on such a URI, so everything that reads a DSN's
parts reads them here."""

from dataclasses import dataclass, field
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit

DEFAULT_PORT = 5432


@dataclass(frozen=True, slots=True)
class Dsn:
    user: str | None
    password: str | None
    hosts: tuple[tuple[str, int], ...]
    database: str | None
    params: dict[str, str] = field(default_factory=dict)

    def yoyo_uri(self, schema: str) -> str:
        """For yoyo's psycopg backend, which reads host and port as libpq keywords (its own
        URI parser takes one host only): comma-separated lists keep every host."""
        auth = quote(self.user or "", safe="") + (":" + quote(self.password, safe="") if self.password else "")
        query = {
            **self.params,
            "host": ",".join(h for h, _ in self.hosts),
            "port": ",".join(str(p) for _, p in self.hosts),
            "schema": schema,
        }
        return f"postgresql+psycopg://{auth}@/{self.database or ''}?{urlencode(query)}"

    def is_only(self, host: str, port: int) -> bool:
        return self.hosts == ((host, port),)


def parse(dsn: str) -> Dsn:
    parts = urlsplit(dsn)
    if parts.scheme not in ("postgresql", "postgres"):
        raise ValueError(f"not a PostgreSQL URI: {parts.scheme}://…")
    userinfo, _, hostlist = parts.netloc.rpartition("@")
    user, has_password, password = userinfo.partition(":")
    hosts = []
    for item in filter(None, hostlist.split(",")):
        if item.startswith("["):  # [::1]:5432
            host, _, rest = item[1:].partition("]")
            port = rest.removeprefix(":")
        else:
            host, _, port = item.partition(":")
        hosts.append((unquote(host), int(port) if port else DEFAULT_PORT))
    return Dsn(
        user=unquote(user) or None,
        password=unquote(password) if has_password else None,
        hosts=tuple(hosts) or (("localhost", DEFAULT_PORT),),
        database=unquote(parts.path.removeprefix("/")) or None,
        params=dict(parse_qsl(parts.query)),
    )
