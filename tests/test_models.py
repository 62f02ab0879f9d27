"""The DCNN of Table 2: shapes, parameter counts by hand, width scaling, stacking, MTN sharing, and its
max-pool against ``nn.MaxPool2d``."""

from __future__ import annotations

import copy
from collections import OrderedDict

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from agf.models.dcnn import DCNN, count_parameters, scaled_widths
from agf.models.multitask import MultiTaskDCNN
from agf.models.pooling import MaxPool
from agf.models.stacked import StackedDCNN
from agf.models.width import match_width, setup_parameters


def test_every_intermediate_shape():
    net = DCNN(16).eval()
    x = torch.randn(3, 1, 128, 43)
    shapes = []
    h = x
    for layer in [*net.stem, *net.trunk]:
        h = layer(h)
        if isinstance(layer, (nn.MaxPool2d, nn.Conv2d)) or layer is net.trunk.gap or layer is net.trunk.elu_dense:
            shapes.append((type(layer).__name__, tuple(h.shape[1:])))
    assert shapes == [
        ("Conv2d", (16, 128, 43)), ("MaxPool", (16, 64, 43)),        # conv1 'same', pool (2,1)
        ("Conv2d", (32, 64, 43)), ("MaxPool", (32, 32, 21)),         # floor(43/2) = 21
        ("Conv2d", (64, 32, 21)), ("MaxPool", (64, 16, 10)),
        ("Conv2d", (64, 16, 10)), ("MaxPool", (64, 8, 5)),
        ("Conv2d", (128, 8, 5)), ("MaxPool", (128, 4, 2)),
        ("Conv2d", (256, 4, 2)), ("Conv2d", (256, 4, 2)),           # conv 3x3 and 1x1, no pool
        ("Sequential", (256,)),                                     # global average pool
        ("ELU", (256,)),                                            # dense 256, BN, ELU
    ]
    assert net.embed(x).shape == (3, 256)
    assert net(x).shape == (3, 16)


def test_layer_order_bn_between_conv_and_elu():
    names = list(dict(DCNN(16).trunk.named_children()))
    assert names[:6] == ["conv2", "bn2", "pool2", "elu2", "drop2", "conv3"]  # pool and ELU commute: see below
    assert names[-6:] == ["elu7", "gap", "bn_gap", "dense", "bn_dense", "elu_dense"]
    net = DCNN(16)
    assert net.trunk.drop2.p == 0.1 and net.trunk.drop4.p == 0.1 and net.head.drop.p == 0.5


def in_table_2_order(net: DCNN) -> DCNN:
    """A copy of ``net`` with every ELU before its pool, Table 2's order."""
    net = copy.deepcopy(net)
    for sequential in (net.stem, net.trunk):
        names = list(sequential._modules)
        for i, (first, second) in enumerate(zip(names, names[1:])):
            if first.startswith("pool") and second.startswith("elu"):
                names[i], names[i + 1] = second, first
        sequential._modules = OrderedDict((name, sequential._modules[name]) for name in names)
    return net


def test_pool_before_elu_computes_table_2s_order():
    """The ELU is increasing, so pooling before it gives Table 2's numbers and gradients, in a
    training step (batch statistics, dropout drawn alike) and in inference."""
    torch.manual_seed(0)
    net = DCNN(16)
    reference = in_table_2_order(net)
    assert [n for n in reference.trunk._modules][:4] == ["conv2", "bn2", "elu2", "pool2"]
    x, y = torch.randn(6, 1, 128, 43), torch.randint(0, 16, (6,))
    losses = []
    for model in (net, reference):
        torch.manual_seed(1)
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        losses.append(loss)
    torch.testing.assert_close(losses[0], losses[1], rtol=1e-5, atol=1e-6)
    for (name, p), q in zip(net.named_parameters(), reference.parameters()):
        torch.testing.assert_close(p.grad, q.grad, rtol=1e-4, atol=1e-6, msg=name)
    with torch.inference_mode():
        torch.testing.assert_close(net.eval()(x), reference.eval()(x), rtol=1e-5, atol=1e-6)


def hand_count(c: list[int], dense: int, n_out: int) -> int:
    """Conv without BN: k*k*in*out + out (bias). Conv with BN: k*k*in*out (no bias) + 2*out (gamma, beta)."""
    return (5 * 5 * 1 * c[0] + c[0]                     # conv1 16@5x5 + bias
            + 3 * 3 * c[0] * c[1] + 2 * c[1]            # conv2 + BN
            + 3 * 3 * c[1] * c[2] + c[2]                # conv3 + bias
            + 3 * 3 * c[2] * c[3] + 2 * c[3]            # conv4 + BN
            + 3 * 3 * c[3] * c[4] + c[4]                # conv5 + bias
            + 3 * 3 * c[4] * c[5] + c[5]                # conv6 + bias
            + 1 * 1 * c[5] * c[6] + 2 * c[6]            # conv7 1x1 + BN
            + 2 * c[6]                                  # BN after global average pooling
            + c[6] * dense + 2 * dense                  # dense (no bias) + BN
            + dense * n_out + n_out)                    # output layer


def test_parameter_count_by_hand():
    # 416 + 4,672 + 18,496 + 36,992 + 73,856 + 295,168 + 66,048 + 512 + 66,048 + 4,112 = 566,320
    assert count_parameters(DCNN(16)) == 566_320
    assert hand_count([16, 32, 64, 64, 128, 256, 256], 256, 16) == 566_320
    # a 40-group AG head: 24 more outputs of 256 weights + 1 bias
    assert count_parameters(DCNN(40)) == 566_320 + 24 * 257


def test_width_multiplier_scales_convs_and_dense():
    net = DCNN(16, width=0.5)
    widths = [8, 16, 32, 32, 64, 128, 128]
    assert [m.out_channels for m in net.modules() if isinstance(m, nn.Conv2d)] == widths
    assert net.embed(torch.randn(2, 1, 128, 43)).shape == (2, 128)
    assert count_parameters(net) == hand_count(widths, 128, 16)
    assert scaled_widths(2.25).convs == (36, 72, 144, 144, 288, 576, 576)
    with pytest.raises(ValueError):
        scaled_widths(0)


def _no_dropout(module: nn.Module) -> None:
    for m in module.modules():
        if isinstance(m, nn.Dropout):
            m.p = 0.0


def test_stacked_equals_separate_networks():
    torch.manual_seed(0)
    nets = [DCNN(16), DCNN(40), DCNN(40)]
    for net in nets:  # non-trivial BN statistics, as after training
        for m in net.modules():
            if isinstance(m, nn.modules.batchnorm._BatchNorm):
                m.running_mean.normal_()
                m.running_var.uniform_(0.5, 2)
    stacked = StackedDCNN.from_networks(nets)
    for i, net in enumerate(stacked.networks()):  # the round trip back to separate networks is exact
        for (name, a), b in zip(net.state_dict().items(), nets[i].state_dict().values()):
            assert torch.equal(a, b), name
    x = torch.randn(6, 3, 128, 43)
    stacked.eval()
    for net in nets:
        net.eval()
    with torch.no_grad():
        outs = stacked(x)
        for i, net in enumerate(nets):
            torch.testing.assert_close(outs[i], net(x[:, i:i + 1]), rtol=1e-4, atol=1e-5)
            torch.testing.assert_close(stacked.embed(x)[:, i], net.embed(x[:, i:i + 1]), rtol=1e-4, atol=1e-5)
    # training mode (batch statistics per network) and gradients: each network on its own batch and
    # loss; in float64, so that summation order differences cannot hide a real mismatch
    stacked.double().train()
    x = x.double()
    _no_dropout(stacked)
    for net in nets:
        net.double().train()
        _no_dropout(net)
    targets = [torch.randint(0, n.n_outputs, (6,)) for n in nets]
    outs = stacked(x)
    sum(nn.functional.cross_entropy(o, y) for o, y in zip(outs, targets)).backward()
    for i, net in enumerate(nets):
        out = net(x[:, i:i + 1])
        nn.functional.cross_entropy(out, targets[i]).backward()
        torch.testing.assert_close(outs[i], out, rtol=1e-9, atol=1e-10)
        torch.testing.assert_close(stacked.trunk.bn4.running_var.chunk(3)[i], net.trunk.bn4.running_var)
        grad_conv3 = stacked.trunk.conv3.weight.grad.chunk(3)[i]
        torch.testing.assert_close(grad_conv3, net.trunk.conv3.weight.grad, rtol=1e-7, atol=1e-12)
        grad_dense = stacked.trunk.dense.weight.grad.chunk(3)[i]
        torch.testing.assert_close(grad_dense, net.trunk.dense.weight.grad, rtol=1e-7, atol=1e-12)
        torch.testing.assert_close(stacked.heads[i].out.weight.grad, net.head.out.weight.grad, rtol=1e-7, atol=1e-12)


def test_multitask_shares_only_the_stem():
    mtn = MultiTaskDCNN({"g": 16, "m": 40})
    stem = 5 * 5 * 16 + 16
    assert count_parameters(mtn) == count_parameters(DCNN(16)) + count_parameters(DCNN(40)) - stem
    x = torch.randn(2, 1, 128, 43)
    mtn.eval()
    assert mtn(x, "g").shape == (2, 16) and mtn(x, "m").shape == (2, 40)
    network = mtn.network("m")  # a view: the shared stem and m's branch, no copy
    assert network.model is mtn and {id(p) for p in network.parameters()} == {id(p) for p in mtn.parameters()}
    torch.testing.assert_close(network.embed(x), mtn.branches["m"].trunk(mtn.stem(x)))
    torch.testing.assert_close(network(x), mtn(x, "m"))
    with pytest.raises(KeyError, match="no branch for task 's'"):
        mtn.network("s")


def test_wstn_width_matches_the_setup_parameter_count():
    outputs = {"g": 16, "s": 40, "e": 40, "d": 40, "m": 40}
    target = setup_parameters(outputs, "stn")
    assert target == 566_320 + 4 * (566_320 + 24 * 257)
    width, count = match_width(target, 16)
    assert count == count_parameters(DCNN(16, width=width))
    assert abs(count - target) / target < 2e-3
    assert 2.0 < width < 2.5  # parameters grow about with width squared: sqrt(5) = 2.24
    assert setup_parameters(outputs, "mtn") == target - 4 * 416


# (channels, height, width, window) of the DCNN's pools, and odd sizes and other windows
POOLS = [(16, 128, 43, (2, 1)), (32, 64, 43, (2, 2)), (64, 32, 21, (2, 2)), (64, 16, 10, (2, 2)), (128, 8, 5, (2, 2)),
         (3, 9, 7, (2, 2)), (3, 7, 9, (3, 2)), (3, 9, 7, (3, 1)), (3, 7, 9, (1, 3))]


def pool_input(kind: str, shape: tuple[int, ...], dtype: torch.dtype) -> torch.Tensor:
    """Activations with no ties (random), with many (an ELU saturated at -1, small integers)."""
    x = torch.randn(shape)
    if kind == "elu":  # a third of the values saturate to exactly -1, whole windows of them
        x = F.elu(3 * x - 20 * (x < -0.4))
    elif kind == "integers":
        x = torch.randint(-2, 3, shape).float()
    return x.to(dtype)


@pytest.mark.parametrize("memory_format", [torch.contiguous_format, torch.channels_last])
@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
@pytest.mark.parametrize("kind", ["random", "elu", "integers"])
@pytest.mark.parametrize(("channels", "height", "width", "window"), POOLS)
@pytest.mark.parametrize("stacked", [1, 5])
def test_max_pool_equals_torch_max_pool(stacked, channels, height, width, window, kind, dtype, memory_format):
    """Values, layout and gradients equal nn.MaxPool2d's exactly, grouped (stacked) inputs alike;
    with and without autograd recording (inference takes its own path, ties and all)."""
    torch.manual_seed(channels * height + width)
    x = pool_input(kind, (2, stacked * channels, height, width), dtype).contiguous(memory_format=memory_format)
    ours, theirs = x.clone().requires_grad_(), x.clone().requires_grad_()
    y, y_ref = MaxPool(window)(ours), nn.MaxPool2d(window)(theirs)
    assert y.shape == y_ref.shape and y.stride() == y_ref.stride() and y.dtype == dtype
    assert torch.equal(y, y_ref)
    grad = torch.randn_like(y_ref)
    y.backward(grad)
    y_ref.backward(grad)
    assert torch.equal(ours.grad, theirs.grad) and ours.grad.stride() == theirs.grad.stride()
    with torch.inference_mode():
        y = MaxPool(window)(x)
        assert torch.equal(y, y_ref) and y.is_contiguous(memory_format=memory_format)


def _with_torch_pools(module: nn.Module) -> nn.Module:
    for parent in list(module.modules()):
        for name, child in list(parent.named_children()):
            if isinstance(child, MaxPool):
                setattr(parent, name, nn.MaxPool2d(child.kernel_size))
    return module


@pytest.mark.parametrize("memory_format", [torch.contiguous_format, torch.channels_last])
def test_dcnn_with_either_pool_computes_the_same(memory_format):
    """The whole network in inference (every pool on window_max) against nn.MaxPool2d: the same
    logits; and the same state dict keys, so weights load either way."""
    torch.manual_seed(0)
    net = DCNN(16).eval()
    reference = _with_torch_pools(DCNN(16)).eval()
    reference.load_state_dict(net.state_dict())
    net, reference = net.to(memory_format=memory_format), reference.to(memory_format=memory_format)
    x = torch.randn(8, 1, 128, 43).contiguous(memory_format=memory_format)
    with torch.inference_mode():
        torch.testing.assert_close(net(x), reference(x), rtol=1e-5, atol=1e-6)
    assert net.state_dict().keys() == reference.state_dict().keys()
