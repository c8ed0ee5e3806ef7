// Dimension legend used in every shape comment of the model code.
//
//   B   batch: videos or captions on this rank        N   captions in a similarity matrix
//   M   videos in a similarity matrix                  F   frames per video (max_frames)
//   BF  B*F frames flattened into one image batch      T   tokens per frame sequence (1 + grid^2)
//   L   tokens per caption (max_words)                 D   encoder width (Dv vision, Dt text)
//   H   attention heads (= D / 64)                     hd  head width (64)
//   E   joint embedding width                          r   adapter bottleneck
//   ds  shared up-projection width                     K   adapter count per encoder (2 * layers)
//
// Sequences are batch-first ([B, T, D]); the reference is sequence-first, which changes nothing
// numerically because attention and the adapters act per token.
#pragma once
