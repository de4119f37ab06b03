"""The PyTorch column of the README's accuracy table: d2l's LeNet and batch-norm LeNet trained with d2l's train_ch6
recipe (Xavier-uniform weights for every Linear and Conv2d, plain SGD, batch 256, 10 epochs) on the full Fashion-MNIST,
printing the test accuracy after each epoch.

    /usr/bin/python3 benchmarks/torch_recipes.py lenet|lenet-bn SEED   (needs python3-torch and dataset-fashion-mnist)
"""
import gzip
import sys

import numpy as np
import torch
import torch.nn as nn

DATA = "/usr/share/datasets/fashion-mnist/"


def idx(name):
    with gzip.open(DATA + name) as f:
        data = f.read()
    ndim = data[3]
    dims = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def main(model, seed):
    torch.set_num_threads(2)
    xtr = torch.tensor(idx("train-images-idx3-ubyte.gz"), dtype=torch.float32).unsqueeze(1) / 255
    ytr = torch.tensor(idx("train-labels-idx1-ubyte.gz"), dtype=torch.long)
    xte = torch.tensor(idx("t10k-images-idx3-ubyte.gz"), dtype=torch.float32).unsqueeze(1) / 255
    yte = torch.tensor(idx("t10k-labels-idx1-ubyte.gz"), dtype=torch.long)
    torch.manual_seed(seed)
    if model == "lenet":
        net = nn.Sequential(nn.Conv2d(1, 6, 5, padding=2), nn.Sigmoid(), nn.AvgPool2d(2, 2), nn.Conv2d(6, 16, 5), nn.Sigmoid(),
                            nn.AvgPool2d(2, 2), nn.Flatten(), nn.Linear(400, 120), nn.Sigmoid(), nn.Linear(120, 84), nn.Sigmoid(),
                            nn.Linear(84, 10))
        lr = 0.9
    else:
        net = nn.Sequential(nn.Conv2d(1, 6, 5), nn.BatchNorm2d(6), nn.Sigmoid(), nn.AvgPool2d(2, 2), nn.Conv2d(6, 16, 5),
                            nn.BatchNorm2d(16), nn.Sigmoid(), nn.AvgPool2d(2, 2), nn.Flatten(), nn.Linear(256, 120),
                            nn.BatchNorm1d(120), nn.Sigmoid(), nn.Linear(120, 84), nn.BatchNorm1d(84), nn.Sigmoid(),
                            nn.Linear(84, 10))
        lr = 1.0
    for m in net:
        if type(m) in (nn.Linear, nn.Conv2d):
            nn.init.xavier_uniform_(m.weight)
    opt = torch.optim.SGD(net.parameters(), lr=lr)
    loss_fn = nn.CrossEntropyLoss()
    accuracies = []
    for _ in range(10):
        net.train()
        perm = torch.randperm(60000)
        for i in range(0, 60000, 256):
            batch = perm[i:i + 256]
            loss = loss_fn(net(xtr[batch]), ytr[batch])
            opt.zero_grad()
            loss.backward()
            opt.step()
        net.eval()
        with torch.no_grad():
            accuracies.append(round((net(xte).argmax(1) == yte).float().mean().item(), 4))
    print(model, seed, accuracies, flush=True)


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
