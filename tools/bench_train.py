"""Training throughput: packed samples + worker processes vs the original's way (one JPEG file per
sample, decoded and augmented per sample in Python threads), same net, same loss, same CPU.

    python tools/bench_train.py --network Pnet20_v1 --samples 20000

Samples come from ``--wider_root`` (default ../shared/data/widerface), generated once in both
formats into a temporary folder. Ends with ``packed_samples_per_s=<float> baseline_samples_per_s=<float>``.
"""
import os
import shutil
import sys
import tempfile
import time
from multiprocessing.pool import ThreadPool

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import cli  # noqa: E402
import symbols  # noqa: E402
import mxnet as mx  # noqa: E402
from config import config  # noqa: E402
from core.train import batches as D  # noqa: E402
from core.train import optim, trainer as T  # noqa: E402


def original_transform(img, rng):
    """Per-sample augmentation as the original's ``transform``, one image at a time."""
    x = img.astype(np.float32) * [0.6, 0.8, 1.0, 1.2][rng.randint(0, 4)]
    if rng.rand() < 0.5:
        g = x[:, :, 0] * 0.114 + x[:, :, 1] * 0.587 + x[:, :, 2] * 0.299
        x = np.stack([g, g, g], 2)
    else:
        for c in range(3):
            x[:, :, c] *= 1 + rng.randint(-200, 201) / 1000.0
    x = np.clip(x, 0, 255)
    x = np.clip(x + rng.normal(0, np.sqrt(rng.randint(1, 11)), x.shape), 0, 255)
    return ((x.transpose(2, 0, 1) - 127.5) * 0.0078125).astype(np.float32)


class ThreadLoader:
    """The original's loader: every sample a JPEG file, split across Python threads per batch."""

    def __init__(self, entries, batch_size, threads):
        self.entries, self.batch_size = entries, batch_size
        self.pool = ThreadPool(threads)
        self.threads = threads

    def _chunk(self, args):
        import cv2
        idx, seed = args
        rng = np.random.RandomState(seed)
        out = []
        for i in idx:
            path, _, code, values = self.entries[i % len(self.entries)]
            img = cv2.imread(path)
            if i >= len(self.entries):
                img = img[:, ::-1]
            out.append((original_transform(img, rng), code, values))
        return out

    def batches(self, n_batches, seed=0):
        rng = np.random.RandomState(seed)
        order = rng.permutation(2 * len(self.entries))
        for b in range(n_batches):
            idx = order[b * self.batch_size:(b + 1) * self.batch_size]
            parts = self.pool.map(self._chunk, [(c, seed + b) for c in np.array_split(idx, self.threads)])
            items = [x for p in parts for x in p]
            codes = np.array([c for _, c, _ in items], np.float32)
            bbox = np.stack([v[:4] if c in (1, -1) else np.zeros(4, np.float32) for _, c, v in items])
            yield dict(data=np.stack([x for x, _, _ in items]), label=codes, bbox_target=bbox.astype(np.float32),
                       landmark_target=np.zeros((len(items), 10), np.float32), type_label=codes)


def timed(graph, trainer, batches, kind, micro, warmup=2):
    """Samples/s of the training loop's own step (core.train.trainer.train_step) fed by ``batches``."""
    n, t0 = 0, None
    for i, batch in enumerate(batches):
        if i == warmup:
            t0, n = time.perf_counter(), 0
        T.train_step(graph, trainer, batch, [mx.cpu()], micro=micro)
        n += len(batch['data'])
    return n / (time.perf_counter() - t0)


def model(network, batch_size, micro):
    """The training loop's own model, graph and optimizer for ``network`` (as core.train.trainer.train builds them)."""
    from core.recipes.training_recipe import Phase, StageRecipe
    s = T.settings(StageRecipe(network=network, phases=(Phase(batch_size=batch_size),)))
    m = T.build_model(s)
    net = T.make_block(m.train_sym, m.arg, m.aux, [mx.cpu()])
    size = s.info()['size']
    micro = T.use_micro_batches(net, T.micro_batch_size(size, mx.cpu()) if micro < 0 else micro, batch_size)
    trainer = optim.make_trainer(net.collect_params(), Phase(lr=0.001, lr_epoch=(), batch_size=batch_size), 0, 1)
    return T.LossGraph(net, s.info()['kind'], False, T.loss_config(True, 'l2')), trainer, micro


def make_samples(wider_root, size, work, samples):
    from prepare_data.gen_data import generate
    from prepare_data.gen_imglist import assemble
    from prepare_data.wider import build_annotations, read_mat, write_annotations
    records = read_mat(os.path.join(wider_root, 'wider_face_split', 'wider_face_train.mat'))
    kept, _ = build_annotations(records, os.path.join(wider_root, 'WIDER_train', 'images'))
    n_images = max(20, int(samples / 100) + 10)  # ~100 crops per image at base_num 1
    anno = os.path.join(work, 'anno.txt')
    write_annotations(kept[:n_images], anno, os.path.join(work, 'train.txt'))
    lists = {}
    for fmt in ('packed', 'jpg'):
        generate(anno, size, os.path.join(work, fmt), fmt=fmt, workers=os.cpu_count() or 1)
        lists[fmt] = os.path.join(work, fmt, 'train.txt')
        assemble(os.path.join(work, fmt, str(size)), lists[fmt])
    return lists


def main(argv=None):
    ap = cli.parser(__doc__)
    ap.add_argument('--network', default='Pnet20_v1')
    ap.add_argument('--samples', type=int, default=20000, help='samples per measured run')
    ap.add_argument('--batch_size', type=int, default=256)
    ap.add_argument('--wider_root', default=os.path.join(config.shared, 'data', 'widerface'))
    ap.add_argument('--workers', type=int, default=2, help='packed loader processes')
    ap.add_argument('--threads', type=int, default=4, help='baseline decoding threads (the original: 4-32)')
    ap.add_argument('--micro_batch', type=int, default=-1, help='as the trainers (-1 = auto)')
    ap.add_argument('--also', default='Rnet_v1,Onet_v1', help='more nets to report (packed only)')
    args = ap.parse_args(argv)
    work = tempfile.mkdtemp(prefix='bench-train-')
    try:
        nets = [args.network] + [n for n in args.also.split(',') if n]
        results = {}
        for i, network in enumerate(nets):
            info = symbols.network_info(network)
            lists = make_samples(args.wider_root, info['size'], os.path.join(work, str(info['size'])), args.samples)
            n_batches = max(4, args.samples // args.batch_size)
            net, trainer, micro = model(network, args.batch_size, args.micro_batch)
            loader = D.Loader(D.BatchMaker(D.SampleSource(D.read_sample_list(lists['packed']), info['size'])),
                              args.batch_size, 0, args.workers)
            gen = (b for _, b in zip(range(n_batches + 2), loader.batches(0)))
            packed = timed(net, trainer, gen, info['kind'], micro)
            loader.close()
            results[network] = {'packed': packed}
            if i == 0:
                net, trainer, micro = model(network, args.batch_size, args.micro_batch)
                base = ThreadLoader(D.read_sample_list(lists['jpg']), args.batch_size, args.threads)
                results[network]['baseline'] = timed(net, trainer, base.batches(n_batches + 2), info['kind'], micro)
            print('%-10s %s' % (network, '  '.join('%s %.0f samples/s' % kv for kv in results[network].items())))
        r = results[args.network]
        print('speed-up %.2fx' % (r['packed'] / r['baseline']))
        print('packed_samples_per_s=%.1f baseline_samples_per_s=%.1f' % (r['packed'], r['baseline']))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == '__main__':
    sys.exit(cli.run(main))
