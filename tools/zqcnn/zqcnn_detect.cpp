// Runs ZQCNN's C++ MTCNN (ZQ::ZQ_CNN_MTCNN) on images and prints its boxes, or times it.
//
// Built and run by scripts/zqcnn_reference.sh (reference boxes for the zqcnn-scheme parity test) and
// scripts/zqcnn_race.sh (timing against tools/bench_detector.py); see those scripts for the build.
//
//   zqcnn_detect --model-dir DIR [--pnet det1 --rnet det2 --onet det3] [--min-face 20]
//                [--thresh P R O] [--nms P R O] [--factor 0.709] [--overlap-count 3]
//                [--pnet-size 20 --pnet-stride 4] [--reps N --warmup W] IMAGE...
//
// Output, per image: "image PATH W H faces N", then N lines "x1 y1 x2 y2 score" (ZQCNN's integer
// col1 row1 col2 row2). With --reps N > 0 the image is also detected N more times and a line
// "median_ms=<float>" follows (one thread; pin the process with taskset for a fair race).
#include "ZQ_CNN_Net.h"
#include "ZQ_CNN_MTCNN.h"
#include "opencv2/opencv.hpp"
#include <omp.h>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

static void fail(const std::string& msg, int code = 2)
{
	fprintf(stderr, "zqcnn_detect: %s\n", msg.c_str());
	exit(code);
}

int main(int argc, char** argv)
{
	std::string dir, pnet = "det1", rnet = "det2", onet = "det3";
	int min_face = 20, overlap = 3, cell = 20, stride = 4, reps = 0, warmup = 3;
	float th[3] = { 0.6f, 0.7f, 0.7f }, nms[3] = { 0.4f, 0.5f, 0.5f }, factor = 0.709f;
	std::vector<std::string> images;
	for (int i = 1; i < argc; i++)
	{
		std::string a = argv[i];
		auto value = [&](int k) { if (i + k >= argc) fail("missing value for " + a); return argv[++i]; };
		if (a == "--model-dir") dir = value(1);
		else if (a == "--pnet") pnet = value(1);
		else if (a == "--rnet") rnet = value(1);
		else if (a == "--onet") onet = value(1);
		else if (a == "--min-face") min_face = atoi(value(1));
		else if (a == "--thresh") { if (i + 3 >= argc) fail("--thresh takes 3 values"); for (int k = 0; k < 3; k++) th[k] = atof(argv[++i]); }
		else if (a == "--nms") { if (i + 3 >= argc) fail("--nms takes 3 values"); for (int k = 0; k < 3; k++) nms[k] = atof(argv[++i]); }
		else if (a == "--factor") factor = atof(value(1));
		else if (a == "--overlap-count") overlap = atoi(value(1));
		else if (a == "--pnet-size") cell = atoi(value(1));
		else if (a == "--pnet-stride") stride = atoi(value(1));
		else if (a == "--reps") reps = atoi(value(1));
		else if (a == "--warmup") warmup = atoi(value(1));
		else if (a.size() > 1 && a[0] == '-' && a[1] == '-') fail("unknown option " + a);
		else images.push_back(a);
	}
	if (dir.empty() || images.empty()) fail("usage: zqcnn_detect --model-dir DIR [options] IMAGE...");
	omp_set_num_threads(1);

	auto path = [&](const std::string& n, const char* ext) { return dir + "/" + n + ext; };
	ZQ::ZQ_CNN_MTCNN mtcnn;
	mtcnn.TurnOffShowDebugInfo();
	if (!mtcnn.Init(path(pnet, ".zqparams"), path(pnet, ".nchwbin"), path(rnet, ".zqparams"), path(rnet, ".nchwbin"),
		path(onet, ".zqparams"), path(onet, ".nchwbin"), 1, false))
		fail("cannot load the models in " + dir, 1);

	for (const std::string& image_path : images)
	{
		cv::Mat image = cv::imread(image_path, cv::IMREAD_COLOR);
		if (image.empty()) fail("cannot read " + image_path, 1);
		if (!image.isContinuous()) image = image.clone();
		mtcnn.SetPara(image.cols, image.rows, min_face, th[0], th[1], th[2], nms[0], nms[1], nms[2], factor,
			overlap, cell, stride, false);
		std::vector<ZQ::ZQ_CNN_BBox> boxes;
		if (!mtcnn.Find(image.data, image.cols, image.rows, (int)image.step[0], boxes))
			boxes.clear();  // ZQCNN returns false when the Pnet finds nothing
		int n = 0;
		for (const auto& b : boxes) n += b.exist ? 1 : 0;
		printf("image %s %d %d faces %d\n", image_path.c_str(), image.cols, image.rows, n);
		for (const auto& b : boxes)
			if (b.exist) printf("%d %d %d %d %.6f\n", b.col1, b.row1, b.col2, b.row2, b.score);
		if (reps > 0)
		{
			std::vector<double> ms;
			for (int r = 0; r < warmup + reps; r++)
			{
				auto t0 = std::chrono::steady_clock::now();
				mtcnn.Find(image.data, image.cols, image.rows, (int)image.step[0], boxes);
				auto t1 = std::chrono::steady_clock::now();
				if (r >= warmup) ms.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
			}
			std::sort(ms.begin(), ms.end());
			double median = ms.size() % 2 ? ms[ms.size() / 2] : 0.5 * (ms[ms.size() / 2 - 1] + ms[ms.size() / 2]);
			printf("median_ms=%.3f\n", median);
		}
	}
	return 0;
}
