"""The bus of the distributed roles (issue #15, docs/cluster.md): normalised source changes on Redis
Streams, from watchers to copy workers. `codec`: a change as a stream entry, exactly; `streams`: the
shards, publishing, consumer groups, acknowledgement and the reclaim of a dead consumer's entries.

`mirrorbot run` (one process) does not use it: its changes go from the watch to the copier in process.
"""
