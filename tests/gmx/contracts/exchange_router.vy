# pragma version ~=0.4.3
# ExchangeRouter double: multicall / sendWnt / sendTokens / createOrder / cancelOrder with the real ABI.
# createOrder checks what the real one checks on the way in (the execution fee against the DataStore gas
# keys and tx.gasprice, and that it was sent with sendWnt; collateral sent with sendTokens), stores the
# order for the keeper double and emits OrderCreated (EventLog2, topics key and account) through the
# EventEmitter double. `orderCreatedTemplate` is the real OrderCreated data for a zero key, built from the
# real ABI by the test harness: only the key word differs per order.

interface Router:
    def pluginTransfer(token: address, account: address, receiver: address, amount: uint256): nonpayable

interface DataStore:
    def getUint(key: bytes32) -> uint256: view

interface EventEmitter:
    def emitRawLog2(nameHash: bytes32, topic1: bytes32, topic2: bytes32, data: Bytes[8192]): nonpayable

struct CreateOrderParamsAddresses:
    receiver: address
    cancellationReceiver: address
    callbackContract: address
    uiFeeReceiver: address
    market: address
    initialCollateralToken: address
    swapPath: DynArray[address, 4]

struct CreateOrderParamsNumbers:
    sizeDeltaUsd: uint256
    initialCollateralDeltaAmount: uint256
    triggerPrice: uint256
    acceptablePrice: uint256
    executionFee: uint256
    callbackGasLimit: uint256
    minOutputAmount: uint256
    validFromTime: uint256

struct CreateOrderParams:
    addresses: CreateOrderParamsAddresses
    numbers: CreateOrderParamsNumbers
    orderType: uint8
    decreasePositionSwapType: uint8
    isLong: bool
    shouldUnwrapNativeToken: bool
    autoCancel: bool
    referralCode: bytes32
    dataList: DynArray[bytes32, 4]

struct StoredOrder:
    account: address
    params: CreateOrderParams
    status: uint8  # 1 pending, 2 executed, 3 cancelled, 4 frozen

MARKET_INCREASE: constant(uint8) = 2
MARKET_DECREASE: constant(uint8) = 4
# keccak256("OrderCreated") and the DataStore keys keccak256(abi.encode("<NAME>")) of Keys.sol
ORDER_CREATED: constant(bytes32) = 0xa7427759bfd3b941f14e687e129519da3c9b0046c5b9aaa290bb1dede63753b3
INCREASE_ORDER_GAS_LIMIT: constant(bytes32) = 0x983e0a7f5307213e84497f2543331fe5e404db14ddf98f98dc956e0ee3ab6875
DECREASE_ORDER_GAS_LIMIT: constant(bytes32) = 0xfce7a3444b72c2d30987163c1f2e6c00cffa03bf0b6ca2f077e8db006b4cae8b
SINGLE_SWAP_GAS_LIMIT: constant(bytes32) = 0x3be28fb346f7abc4a956a16d3739c8c4bfcca9385988c64bf86cdd16638c1f81
BASE_AMOUNT: constant(bytes32) = 0x39288f227e5db9a793e9f4afb15aa22b77dbb7e410ffc973c816a19a6ed921cd
PER_ORACLE_PRICE: constant(bytes32) = 0xf95915378e4358fb5f51ae0fd75853a15a29a978eb14b73d5c5b7d69d3b9fccc
MULTIPLIER_FACTOR: constant(bytes32) = 0xce135f2a886cf6d862269f215b1e64498fa09cb04f90b771b163399df2a82b81

router: public(address)
dataStore: public(address)
eventEmitter: public(address)
orderVault: public(address)
keeper: public(address)
orderCreatedPrefix: Bytes[2000]
orderCreatedSuffix: Bytes[2000]
nonce: public(uint256)
orders: HashMap[bytes32, StoredOrder]
orderKeys: public(DynArray[bytes32, 4096])
sentWnt: HashMap[address, uint256]
sentTokens: HashMap[address, HashMap[address, uint256]]


@deploy
def __init__(
    router: address, data_store: address, event_emitter: address, order_vault: address,
    prefix: Bytes[2000], suffix: Bytes[2000]
):
    self.router = router
    self.dataStore = data_store
    self.eventEmitter = event_emitter
    self.orderVault = order_vault
    self.keeper = order_vault
    self.orderCreatedPrefix = prefix
    self.orderCreatedSuffix = suffix


@payable
@external
def multicall(data: DynArray[Bytes[2048], 8]) -> DynArray[Bytes[64], 8]:
    results: DynArray[Bytes[64], 8] = []
    for call: Bytes[2048] in data:
        results.append(raw_call(self, call, max_outsize=64, is_delegate_call=True))
    return results


@payable
@external
def sendWnt(receiver: address, amount: uint256):
    assert receiver == self.orderVault, "InvalidReceiver"
    send(receiver, amount)
    self.sentWnt[msg.sender] += amount


@payable
@external
def sendTokens(token: address, receiver: address, amount: uint256):
    assert receiver == self.orderVault, "InvalidReceiver"
    extcall Router(self.router).pluginTransfer(token, msg.sender, receiver, amount)
    self.sentTokens[msg.sender][token] += amount


@view
@internal
def _min_execution_fee(params: CreateOrderParams) -> uint256:
    store: DataStore = DataStore(self.dataStore)
    swaps: uint256 = len(params.addresses.swapPath)
    estimated: uint256 = 0
    if params.orderType == MARKET_INCREASE:
        estimated = staticcall store.getUint(INCREASE_ORDER_GAS_LIMIT)
    else:
        estimated = staticcall store.getUint(DECREASE_ORDER_GAS_LIMIT)
        if params.decreasePositionSwapType != 0:
            swaps += 1
    estimated += staticcall store.getUint(SINGLE_SWAP_GAS_LIMIT) * swaps + params.numbers.callbackGasLimit
    limit: uint256 = staticcall store.getUint(BASE_AMOUNT)
    limit += staticcall store.getUint(PER_ORACLE_PRICE) * (3 + len(params.addresses.swapPath))
    limit += estimated * staticcall store.getUint(MULTIPLIER_FACTOR) // 10**30
    return limit * tx.gasprice


@payable
@external
def createOrder(params: CreateOrderParams) -> bytes32:
    assert params.orderType == MARKET_INCREASE or params.orderType == MARKET_DECREASE, "OrderTypeCannotBeCreated"
    assert params.numbers.executionFee >= self._min_execution_fee(params), "InsufficientExecutionFee"
    assert self.sentWnt[msg.sender] >= params.numbers.executionFee, "InsufficientWntAmountForExecutionFee"
    self.sentWnt[msg.sender] -= params.numbers.executionFee
    stored: CreateOrderParams = params
    if params.orderType == MARKET_INCREASE:
        token: address = params.addresses.initialCollateralToken
        stored.numbers.initialCollateralDeltaAmount = self.sentTokens[msg.sender][token]
        self.sentTokens[msg.sender][token] = 0
    assert stored.numbers.sizeDeltaUsd > 0 or stored.numbers.initialCollateralDeltaAmount > 0, "EmptyOrder"
    self.nonce += 1
    key: bytes32 = keccak256(abi_encode(self.dataStore, self.nonce))
    self.orders[key] = StoredOrder(account=msg.sender, params=stored, status=1)
    self.orderKeys.append(key)
    data: Bytes[4096] = concat(self.orderCreatedPrefix, key, self.orderCreatedSuffix)
    extcall EventEmitter(self.eventEmitter).emitRawLog2(
        ORDER_CREATED, key, convert(convert(msg.sender, uint160), bytes32), data
    )
    return key


@external
def setStatus(key: bytes32, status: uint8):
    assert msg.sender == self.keeper, "Unauthorized"
    assert self.orders[key].status == 1, "OrderNotPending"
    self.orders[key].status = status


@view
@external
def getOrder(key: bytes32) -> StoredOrder:
    return self.orders[key]


@view
@external
def orderCount() -> uint256:
    return len(self.orderKeys)
