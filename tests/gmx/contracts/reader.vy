# pragma version ~=0.4.3
# Reader double: getAccountPositions with the real ABI (Position.Props with pendingImpactAmount).
# The positions live here (the real Reader reads them from the DataStore); the keeper double writes them.

struct PositionAddresses:
    account: address
    market: address
    collateralToken: address

struct PositionNumbers:
    sizeInUsd: uint256
    sizeInTokens: uint256
    collateralAmount: uint256
    pendingImpactAmount: int256
    borrowingFactor: uint256
    fundingFeeAmountPerSize: uint256
    longTokenClaimableFundingAmountPerSize: uint256
    shortTokenClaimableFundingAmountPerSize: uint256
    increasedAtTime: uint256
    decreasedAtTime: uint256

struct PositionFlags:
    isLong: bool

struct PositionProps:
    addresses: PositionAddresses
    numbers: PositionNumbers
    flags: PositionFlags

positions: HashMap[address, DynArray[PositionProps, 16]]
writer: public(address)


@deploy
def __init__():
    self.writer = msg.sender


@external
def setWriter(writer: address):
    assert msg.sender == self.writer, "Unauthorized"
    self.writer = writer


@external
def setAccountPositions(account: address, props: DynArray[PositionProps, 8]):
    assert msg.sender == self.writer, "Unauthorized"
    self.positions[account] = props


@view
@external
def getAccountPositions(
    dataStore: address, account: address, start: uint256, end: uint256
) -> DynArray[PositionProps, 16]:
    stored: DynArray[PositionProps, 16] = self.positions[account]
    result: DynArray[PositionProps, 16] = []
    for i: uint256 in range(16):
        if i >= len(stored) or i >= end:
            break
        if i >= start:
            result.append(stored[i])
    return result
