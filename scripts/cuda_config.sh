# The CMake configuration of a CUDA + NCCL build, as the GPU machine builds it, sourced by
# scripts/torch2_check.sh (Debian 13's LibTorch 2.6 with CUDA, in a root here) and scripts/gpu_check.sh
# (PyTorch's LibTorch on the GPU machine), so that what the first proves is what the second builds.
# Each caller adds where its LibTorch, nccl.h and Gloo's headers are.
#   No OpenCV: JPEG frames decode with TurboJPEG, and the GPU machine has no OpenCV.
#   TORCH_CUDA_ARCH_LIST 9.0: Hopper (H100, H200); it also spares LibTorch's CMake files from
#   probing for a GPU, which fails where there is none.
# shellcheck shell=bash
CMA_CUDA_CMAKE_FLAGS=(-G Ninja -DCMAKE_BUILD_TYPE=Release -DCMA_WITH_OPENCV=OFF -DTORCH_CUDA_ARCH_LIST=9.0)
