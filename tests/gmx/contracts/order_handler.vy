# pragma version ~=0.4.3
# The keeper double, also the OrderVault (sendWnt / sendTokens receiver): executes, cancels or freezes a
# batch of pending orders in ONE transaction (one block), as GMX's OrderHandler does per order: marks it, writes the account's positions,
# pays out tokens and refunds, and emits the logs (built by the test keeper against the real ABI).

interface ERC20:
    def transfer(receiver: address, amount: uint256) -> bool: nonpayable

interface EventEmitter:
    def emitRawLog1(nameHash: bytes32, topic1: bytes32, data: Bytes[8192]): nonpayable
    def emitRawLog2(nameHash: bytes32, topic1: bytes32, topic2: bytes32, data: Bytes[8192]): nonpayable

interface ExchangeRouter:
    def setStatus(key: bytes32, status: uint8): nonpayable

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

interface Reader:
    def setAccountPositions(account: address, props: DynArray[PositionProps, 8]): nonpayable

struct RawLog:
    twoTopics: bool  # EventLog2 (key, account) else EventLog1 (account)
    nameHash: bytes32
    topic1: bytes32
    topic2: bytes32
    data: Bytes[8192]

keeper: public(address)
exchangeRouter: public(address)
reader: public(address)
eventEmitter: public(address)


@deploy
def __init__(reader: address, event_emitter: address):
    self.keeper = msg.sender
    self.reader = reader
    self.eventEmitter = event_emitter


@external
def setExchangeRouter(exchange_router: address):
    assert msg.sender == self.keeper, "Unauthorized"
    self.exchangeRouter = exchange_router


@payable
@external
def __default__():
    pass


struct Settlement:
    key: bytes32
    status: uint8  # 2 executed, 3 cancelled, 4 frozen
    account: address
    positions: DynArray[PositionProps, 8]
    writePositions: bool
    token: address
    tokenAmount: uint256
    wntRefund: uint256
    logs: DynArray[RawLog, 3]


@external
def settle(batch: DynArray[Settlement, 4]):
    assert msg.sender == self.keeper, "Unauthorized"
    for s: Settlement in batch:
        extcall ExchangeRouter(self.exchangeRouter).setStatus(s.key, s.status)
        if s.writePositions:
            extcall Reader(self.reader).setAccountPositions(s.account, s.positions)
        if s.tokenAmount > 0:
            assert extcall ERC20(s.token).transfer(s.account, s.tokenAmount)
        if s.wntRefund > 0:
            send(s.account, s.wntRefund)
        for entry: RawLog in s.logs:
            if entry.twoTopics:
                extcall EventEmitter(self.eventEmitter).emitRawLog2(entry.nameHash, entry.topic1, entry.topic2, entry.data)
            else:
                extcall EventEmitter(self.eventEmitter).emitRawLog1(entry.nameHash, entry.topic1, entry.data)
