"""Publish a simulated year of upstream facts to the intake topic (or write JSON lines).

python -m simulator --year 2015 --enterprises 3000 --seed 2015
"""

import argparse
import asyncio
import sys
from pathlib import Path

import orjson
from aiokafka import AIOKafkaProducer
from tqdm import tqdm

from shared.contract import topics
from shared.messaging.kafka_settings import KafkaSettings, kafka_options, local_connection
from simulator.history import Options, generate


async def publish(opts: Options, kafka: KafkaSettings | str) -> int:
    producer = AIOKafkaProducer(
        **kafka_options(kafka), acks="all", enable_idempotence=True, linger_ms=20, max_batch_size=1 << 20
    )
    await producer.start()
    sent = 0
    try:
        pending = []
        history = list(generate(opts))  # built whole first, so the bar counts against a total
        for e in tqdm(history, desc=f"publishing {opts.year}", unit="ev", file=sys.stderr):
            d = e["data"]
            key = (d.get("uscc") or d.get("incubator_id") or d.get("platform_id")).encode()
            pending.append(await producer.send(topics.INTAKE, orjson.dumps(e), key=key))
            sent += 1
            if len(pending) >= 5000:
                await asyncio.gather(*pending)
                pending.clear()
        await asyncio.gather(*pending)
    finally:
        await producer.stop()
    return sent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--year", type=int, default=2015)
    parser.add_argument("--enterprises", type=int, default=3000)
    parser.add_argument("--seed", type=int, default=2015)
    parser.add_argument("--out", type=Path, help="write JSON lines here instead of publishing")
    args = parser.parse_args()
    opts = Options(year=args.year, enterprises=args.enterprises, seed=args.seed)
    if args.out:
        with args.out.open("wb") as fh:
            for e in tqdm(list(generate(opts)), desc="writing", unit="ev", file=sys.stderr):
                fh.write(orjson.dumps(e) + b"\n")
        return
    kafka, _ = local_connection()
    sent = asyncio.run(publish(opts, kafka))
    print(f"published {sent} intake events for {args.year} to {kafka.describe()} ({topics.INTAKE})")


if __name__ == "__main__":
    main()
