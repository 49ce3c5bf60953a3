# pragma version ~=0.4.3
# DataStore double: getUint/setUint with the real selectors (the real one restricts setUint to
# CONTROLLER roles; here anyone may set, the tests configure the gas keys with it).

uintValues: HashMap[bytes32, uint256]


@view
@external
def getUint(key: bytes32) -> uint256:
    return self.uintValues[key]


@external
def setUint(key: bytes32, amount: uint256) -> uint256:
    self.uintValues[key] = amount
    return amount
