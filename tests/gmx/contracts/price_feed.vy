# pragma version ~=0.4.3
# A Chainlink AggregatorV3 double (latestRoundData, decimals); `setAnswer` is a test control.

decimals: public(uint8)
answer: int256
round: uint80
updatedAt: uint256


@deploy
def __init__(feed_decimals: uint8, initial: int256):
    self.decimals = feed_decimals
    self.answer = initial
    self.round = 1
    self.updatedAt = block.timestamp


@external
def setAnswer(answer: int256):
    self.answer = answer
    self.round += 1
    self.updatedAt = block.timestamp


@view
@external
def latestRoundData() -> (uint80, int256, uint256, uint256, uint80):
    return (self.round, self.answer, self.updatedAt, self.updatedAt, self.round)
