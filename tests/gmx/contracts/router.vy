# pragma version ~=0.4.3
# Router double: pluginTransfer with the real selector, callable by the ExchangeRouter only. Users
# approve THIS address for their collateral token, as on GMX.

interface ERC20:
    def transferFrom(owner: address, receiver: address, amount: uint256) -> bool: nonpayable

plugin: public(address)
admin: address


@deploy
def __init__():
    self.admin = msg.sender


@external
def setPlugin(plugin: address):
    assert msg.sender == self.admin, "Unauthorized"
    self.plugin = plugin


@external
def pluginTransfer(token: address, account: address, receiver: address, amount: uint256):
    assert msg.sender == self.plugin, "Unauthorized"
    assert extcall ERC20(token).transferFrom(account, receiver, amount)
