# pragma version ~=0.4.3
# EventEmitter double: emits EventLog1 / EventLog2 from this address with topics and ABI-encoded data
# the caller built against the real EventEmitter ABI (so the logs are laid out as GMX's are).

EVENT_LOG1: constant(bytes32) = 0x137a44067c8961cd7e1d876f4754a5a3a75989b4552f1843fc69c3b372def160
EVENT_LOG2: constant(bytes32) = 0x468a25a7ba624ceea6e540ad6f49171b52495b648417ae91bca21676d8a24dc5


@external
def emitRawLog1(nameHash: bytes32, topic1: bytes32, data: Bytes[8192]):
    raw_log([EVENT_LOG1, nameHash, topic1], data)


@external
def emitRawLog2(nameHash: bytes32, topic1: bytes32, topic2: bytes32, data: Bytes[8192]):
    raw_log([EVENT_LOG2, nameHash, topic1, topic2], data)
