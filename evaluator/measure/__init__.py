"""Stage 4, measuring: latency, throughput, peak memory and energy of the models the platform
runs, on the worker's own hardware, beside the counted FLOPs (docs/measurement.md).

- ``protocol``: the scenarios' sample, warm-up and repetitions, and the protocol version;
- ``timers``, ``energy`` (NVML and RAPL counters), ``memory`` (peak RSS from /proc), ``nvml``:
  what the host reads, outside the sandbox;
- ``hardware``: the hardware profile every measurement records;
- ``session``: the host's side of a model served in the sandbox, one request at a time;
- ``scenarios``: single stream, offline, memory and energy of one point;
- ``points``: every platform-run point of a bundle; ``reference``: ElasticBERT-BASE at
  1..12 layers on this hardware;
- ``stats``: percentiles, medians and coefficients of variation.
"""
