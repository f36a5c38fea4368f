"""Validates Airbyte protocol messages (one JSON object per line on stdin) with airbyte-cdk's own
protocol models, and prints a JSON summary: message counts by type, records by stream, and the
last STATE of each stream."""

import json
import sys

from airbyte_cdk.models import AirbyteMessageSerializer, Type

counts, records, states = {}, {}, {}
for number, line in enumerate(sys.stdin, 1):
    raw = json.loads(line)
    try:
        message = AirbyteMessageSerializer.load(raw)
    except Exception as error:  # the models' own validation error, whatever its class
        sys.exit(f"line {number} is not a valid Airbyte message ({error}): {line[:300]}")
    counts[message.type.value] = counts.get(message.type.value, 0) + 1
    if message.type == Type.RECORD:
        records[message.record.stream] = records.get(message.record.stream, 0) + 1
    elif message.type == Type.STATE:
        states[message.state.stream.stream_descriptor.name] = raw["state"]
json.dump({"counts": counts, "records": records, "states": states}, sys.stdout)
