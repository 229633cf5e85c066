"""Six students' own, independently written solutions of the activations assignment (bodies per
function, filled into the released cells by corpus.py), and their written answers."""

A = {
    "sigmoid": """
out = torch.empty_like(z)
pos = z >= 0
out[pos] = 1.0 / (1.0 + torch.exp(-z[pos]))
ez = torch.exp(z[~pos])
out[~pos] = ez / (1.0 + ez)
return out""",
    "sigmoid_grad": """
s = sigmoid(z)
return s * (1 - s)""",
    "tanh": """
out = torch.empty_like(z)
pos = z >= 0
e = torch.exp(-2.0 * z[pos])
out[pos] = (1.0 - e) / (1.0 + e)
e = torch.exp(2.0 * z[~pos])
out[~pos] = (e - 1.0) / (e + 1.0)
return out""",
    "tanh_grad": """
t = tanh(z)
return 1.0 - t ** 2""",
    "relu": "return torch.where(z > 0, z, torch.zeros_like(z))",
    "relu_grad": "return torch.where(z > 0, torch.ones_like(z), torch.zeros_like(z))",
    "leaky_relu": "return torch.where(z > 0, z, slope * z)",
    "leaky_relu_grad": "return torch.where(z > 0, torch.ones_like(z), torch.full_like(z, slope))",
    "elu": """
neg = alpha * torch.expm1(torch.clamp(z, max=0.0))
return torch.where(z > 0, z, neg)""",
    "elu_grad": "return torch.where(z > 0, torch.ones_like(z), alpha * torch.exp(torch.clamp(z, max=0.0)))",
    "__init__": "self.alpha = nn.Parameter(torch.tensor(float(init)))",
    "forward": "return torch.where(z > 0, z, self.alpha * z)",
    "prelu_grad": """
ones = torch.ones_like(z)
dz = torch.where(z > 0, ones, alpha * ones)
dalpha = torch.where(z > 0, torch.zeros_like(z), z)
return dz, dalpha""",
    "answer_dead_relu": "A unit whose pre-activation is negative for every input outputs zero and gets a zero "
                        "gradient, so its weights never change again: it is dead. A large learning rate or a "
                        "big negative bias pushes units there; leaky ReLU keeps a small slope so they recover.",
    "answer_vanishing": "The sigmoid's derivative is at most 0.25, so backpropagating through many sigmoid layers "
                        "multiplies many small factors and the first layers barely learn. ReLU's derivative is 1 "
                        "for positive inputs, which keeps the gradient's size.",
}

B = {
    "sigmoid": """
e = torch.exp(-torch.abs(z))
p = 1 / (1 + e)
return torch.where(z >= 0, p, 1 - p)""",
    "sigmoid_grad": "return sigmoid(z) * sigmoid(-z)",
    "tanh": "return 2 * sigmoid(2 * z) - 1",
    "tanh_grad": "return 4 * sigmoid_grad(2 * z)",
    "relu": "return z * (z > 0)",
    "relu_grad": "return (z > 0).to(z.dtype)",
    "leaky_relu": """
mask = (z > 0).to(z.dtype)
return z * mask + slope * z * (1 - mask)""",
    "leaky_relu_grad": """
mask = (z > 0).to(z.dtype)
return mask + slope * (1 - mask)""",
    "elu": "return z.clamp(min=0) + alpha * (torch.exp(z.clamp(max=0)) - 1)",
    "elu_grad": """
mask = (z > 0).to(z.dtype)
return mask + (1 - mask) * alpha * torch.exp(z.clamp(max=0))""",
    "__init__": "self.alpha = nn.Parameter(torch.full((), float(init)))",
    "forward": "return z.clamp(min=0) + self.alpha * z.clamp(max=0)",
    "prelu_grad": """
positive = (z > 0).to(z.dtype)
dz = positive + (1 - positive) * alpha
dalpha = (1 - positive) * z
return dz, dalpha""",
    "answer_dead_relu": "Dead ReLUs: if the weighted sum is below zero on the whole training set the output and "
                        "the derivative are both 0, so gradient descent has nothing to follow. I would lower the "
                        "step size, initialise biases slightly positive or switch to ELU.",
    "answer_vanishing": "With tanh or sigmoid in every layer the chain rule gives a product of derivatives "
                        "smaller than one; over ten layers that product shrinks exponentially. Careful "
                        "initialisation (Xavier) and non-saturating activations help.",
}

C = {
    "_prefix_act_sigmoid_tanh": "import math\n\n\n",
    "sigmoid": """
values = []
for v in z.flatten().tolist():
    if v >= 0:
        values.append(1.0 / (1.0 + math.exp(-v)))
    else:
        ex = math.exp(v)
        values.append(ex / (ex + 1.0))
return torch.tensor(values, dtype=z.dtype).reshape(z.shape)""",
    "sigmoid_grad": """
sig = sigmoid(z)
grad = sig - sig * sig
return grad""",
    "tanh": """
values = [math.tanh(v) for v in z.flatten().tolist()]
return torch.tensor(values, dtype=z.dtype).reshape(z.shape)""",
    "tanh_grad": """
th = tanh(z)
return (1 - th) * (1 + th)""",
    "relu": """
result = z.clone()
result[result < 0] = 0
return result""",
    "relu_grad": """
result = torch.zeros_like(z)
result[z > 0] = 1
return result""",
    "leaky_relu": """
result = z.clone()
negative = result <= 0
result[negative] = result[negative] * slope
return result""",
    "leaky_relu_grad": """
result = torch.ones_like(z)
result[z <= 0] = slope
return result""",
    "elu": """
result = z.clone()
negative = z <= 0
result[negative] = alpha * torch.expm1(z[negative])
return result""",
    "elu_grad": """
result = torch.ones_like(z)
negative = z <= 0
result[negative] = alpha * torch.exp(z[negative])
return result""",
    "__init__": "self.alpha = nn.Parameter(torch.as_tensor(init, dtype=torch.float32))",
    "forward": """
negative_part = torch.minimum(z, torch.zeros_like(z))
positive_part = torch.maximum(z, torch.zeros_like(z))
return positive_part + self.alpha * negative_part""",
    "prelu_grad": """
grad_z = torch.ones_like(z)
grad_alpha = torch.zeros_like(z)
negative = z <= 0
grad_z[negative] = float(alpha)
grad_alpha[negative] = z[negative]
return grad_z, grad_alpha""",
    "answer_dead_relu": "When training drives a ReLU neuron's input below 0 for all samples, it is stuck: "
                        "zero output, zero slope, no update. In my runs this happened after a too-big step.",
    "answer_vanishing": "Saturation. For |z| large the sigmoid is flat, its slope nearly 0, and deep networks "
                        "multiply those slopes layer by layer, so the early weights get tiny updates.",
}

D = {
    "sigmoid": "return torch.exp(-torch.logaddexp(torch.zeros_like(z), -z))",
    "sigmoid_grad": """
log_s = -torch.logaddexp(torch.zeros_like(z), -z)
log_one_minus = -torch.logaddexp(torch.zeros_like(z), z)
return torch.exp(log_s + log_one_minus)""",
    "tanh": """
a = torch.abs(z)
e2 = torch.exp(-2.0 * a)
return torch.sign(z) * (1.0 - e2) / (1.0 + e2)""",
    "tanh_grad": """
c = torch.cosh(torch.clamp(z, -40.0, 40.0))
return 1.0 / (c * c)""",
    "relu": "return torch.maximum(z, torch.zeros((), dtype=z.dtype))",
    "relu_grad": "return torch.heaviside(z, torch.zeros((), dtype=z.dtype))",
    "leaky_relu": """
zero = torch.zeros((), dtype=z.dtype)
return torch.maximum(z, zero) + slope * torch.minimum(z, zero)""",
    "leaky_relu_grad": """
g = torch.full_like(z, slope)
g[z > 0] = 1.0
return g""",
    "elu": """
zero = torch.zeros((), dtype=z.dtype)
return torch.maximum(z, zero) + alpha * torch.expm1(torch.minimum(z, zero))""",
    "elu_grad": """
g = alpha * torch.exp(torch.clamp(z, max=0.0))
return torch.where(z > 0, torch.ones_like(g), g)""",
    "__init__": "self.alpha = nn.Parameter(torch.tensor(init, dtype=torch.get_default_dtype()))",
    "forward": "return F.prelu(z, self.alpha.reshape(1).to(z.dtype))",
    "prelu_grad": """
a = torch.as_tensor(alpha, dtype=z.dtype)
dz = torch.where(z > 0, torch.ones_like(z), a.expand_as(z))
dalpha = torch.minimum(z, torch.zeros_like(z))
return dz, dalpha""",
    "answer_dead_relu": "Dying ReLU = the neuron is inactive everywhere. Since relu'(z) = 0 for z < 0, no error "
                        "signal reaches its incoming weights and it cannot come back to life.",
    "answer_vanishing": "Each sigmoid layer scales the backward signal by sigma'(z) <= 1/4. Ten layers give "
                        "at most 1e-6 of the signal, so the bottom of the network does not train.",
}

E = {
    "_prefix_act_sigmoid_tanh": '''def _half_tanh(x):
    t = torch.exp(-2 * x.abs())
    return x.sign() * (1 - t) / (1 + t)


''',
    "sigmoid": "return 0.5 + 0.5 * _half_tanh(0.5 * z)",
    "sigmoid_grad": """
c = torch.cosh(0.5 * z.clamp(-80, 80))
return 0.25 / c.pow(2)""",
    "tanh": "return _half_tanh(z)",
    "tanh_grad": """
y = _half_tanh(z)
return 1 - y * y""",
    "relu": "return z.clamp(min=0)",
    "relu_grad": "return z.gt(0).type_as(z)",
    "leaky_relu": "return z * torch.where(z > 0, 1.0, slope).to(z.dtype)",
    "leaky_relu_grad": "return torch.where(z > 0, 1.0, slope).to(z.dtype)",
    "elu": """
pos = z.clamp(min=0)
neg = z.clamp(max=0)
return pos + alpha * neg.expm1()""",
    "elu_grad": """
grad = alpha * z.clamp(max=0).exp()
grad[z > 0] = 1.0
return grad""",
    "__init__": "self.alpha = nn.Parameter(torch.tensor(init).float())",
    "forward": """
mask = (z > 0).type_as(z)
return mask * z + (1 - mask) * self.alpha * z""",
    "prelu_grad": """
pos = z > 0
a = float(alpha)
dz = pos.type_as(z) + (~pos).type_as(z) * a
dalpha = torch.where(pos, 0 * z, z)
return dz, dalpha""",
    "answer_dead_relu": "If a ReLU unit ends up with negative input for all data points, it is 'dead'; "
                        "gradients through it vanish exactly and the optimiser never revives it.",
    "answer_vanishing": "Vanishing gradients come from saturating activations: their slopes are close to zero "
                        "at large inputs and the backward pass multiplies them.",
}

F = {
    "sigmoid": "return torch.reciprocal(1 + torch.exp(-z))",
    "sigmoid_grad": """
x = z.detach().clone().requires_grad_(True)
(y,) = torch.autograd.grad(sigmoid(x).sum(), x)
return y""",
    "tanh": """
e2z = torch.exp(2 * z.clamp(-20, 20))
return (e2z - 1) / (e2z + 1)""",
    "tanh_grad": """
x = z.detach().clone().requires_grad_(True)
(y,) = torch.autograd.grad(tanh(x).sum(), x)
return y""",
    "relu": "return torch.max(z, torch.zeros_like(z))",
    "relu_grad": "return (torch.sign(z) + 1).div(2).floor()",
    "leaky_relu": "return torch.max(z, torch.zeros_like(z)) + torch.min(z, torch.zeros_like(z)) * slope",
    "leaky_relu_grad": """
positive = relu_grad(z)
return positive + (1 - positive) * slope""",
    "elu": "return torch.where(z > 0, z, alpha * (torch.exp(torch.min(z, torch.zeros_like(z))) - 1))",
    "elu_grad": "return torch.where(z > 0, torch.ones_like(z), elu(z, alpha) + alpha)",
    "__init__": "self.alpha = nn.Parameter(torch.ones(()) * init)",
    "forward": "return torch.max(z, torch.zeros_like(z)) + self.alpha * torch.min(z, torch.zeros_like(z))",
    "prelu_grad": """
zeros = torch.zeros_like(z)
dz = torch.where(z > 0, zeros + 1, zeros + alpha)
dalpha = torch.min(z, zeros)
return dz, dalpha""",
    "answer_dead_relu": "Too high a learning rate can knock the bias of a unit far negative; afterwards relu "
                        "returns 0 on every example and backprop sends it 0, hence permanently off.",
    "answer_vanishing": "Gradients vanish because sigmoid/tanh saturate; ReLU, residual connections and batch "
                        "normalisation are the usual remedies I read about.",
}

INDEPENDENT = {"ada": A, "ben": B, "cai": C, "dora": D, "eli": E, "fay": F}
