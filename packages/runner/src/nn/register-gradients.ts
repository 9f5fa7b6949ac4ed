// tfjs-core's CommonJS build (what Node loads) ships no gradient functions; the union package
// @tensorflow/tfjs normally registers them. We register tfjs-core's own gradient configs here, one
// import each (its register_all_gradients.js cannot be loaded by Node because of a directory
// import). Import this module for its side effect before calling tf.grads / tf.variableGrads.
import { getGradient, registerGradient, type GradConfig } from '@tensorflow/tfjs-core'
import { absGradConfig } from '@tensorflow/tfjs-core/dist/gradients/Abs_grad.js'
import { addGradConfig } from '@tensorflow/tfjs-core/dist/gradients/Add_grad.js'
import { addNGradConfig } from '@tensorflow/tfjs-core/dist/gradients/AddN_grad.js'
import { batchMatMulGradConfig } from '@tensorflow/tfjs-core/dist/gradients/BatchMatMul_grad.js'
import { broadcastToGradConfig } from '@tensorflow/tfjs-core/dist/gradients/BroadcastTo_grad.js'
import { castGradConfig } from '@tensorflow/tfjs-core/dist/gradients/Cast_grad.js'
import { clipByValueGradConfig } from '@tensorflow/tfjs-core/dist/gradients/ClipByValue_grad.js'
import { complexAbsGradConfig } from '@tensorflow/tfjs-core/dist/gradients/ComplexAbs_grad.js'
import { concatGradConfig } from '@tensorflow/tfjs-core/dist/gradients/Concat_grad.js'
import { divGradConfig } from '@tensorflow/tfjs-core/dist/gradients/RealDiv_grad.js'
import { eluGradConfig } from '@tensorflow/tfjs-core/dist/gradients/Elu_grad.js'
import { erfGradConfig } from '@tensorflow/tfjs-core/dist/gradients/Erf_grad.js'
import { expGradConfig } from '@tensorflow/tfjs-core/dist/gradients/Exp_grad.js'
import { expandDimsGradConfig } from '@tensorflow/tfjs-core/dist/gradients/ExpandDims_grad.js'
import { expm1GradConfig } from '@tensorflow/tfjs-core/dist/gradients/Expm1_grad.js'
import { floorDivGradConfig } from '@tensorflow/tfjs-core/dist/gradients/FloorDiv_grad.js'
import { floorGradConfig } from '@tensorflow/tfjs-core/dist/gradients/Floor_grad.js'
import { gatherGradConfig } from '@tensorflow/tfjs-core/dist/gradients/GatherV2_grad.js'
import { greaterEqualGradConfig } from '@tensorflow/tfjs-core/dist/gradients/GreaterEqual_grad.js'
import { identityGradConfig } from '@tensorflow/tfjs-core/dist/gradients/Identity_grad.js'
import { leakyReluGradConfig } from '@tensorflow/tfjs-core/dist/gradients/LeakyRelu_grad.js'
import { log1pGradConfig } from '@tensorflow/tfjs-core/dist/gradients/Log1p_grad.js'
import { logGradConfig } from '@tensorflow/tfjs-core/dist/gradients/Log_grad.js'
import { logSoftmaxGradConfig } from '@tensorflow/tfjs-core/dist/gradients/LogSoftmax_grad.js'
import { maxGradConfig } from '@tensorflow/tfjs-core/dist/gradients/Max_grad.js'
import { maximumGradConfig } from '@tensorflow/tfjs-core/dist/gradients/Maximum_grad.js'
import { meanGradConfig } from '@tensorflow/tfjs-core/dist/gradients/Mean_grad.js'
import { minGradConfig } from '@tensorflow/tfjs-core/dist/gradients/Min_grad.js'
import { minimumGradConfig } from '@tensorflow/tfjs-core/dist/gradients/Minimum_grad.js'
import { multiplyGradConfig } from '@tensorflow/tfjs-core/dist/gradients/Multiply_grad.js'
import { negGradConfig } from '@tensorflow/tfjs-core/dist/gradients/Neg_grad.js'
import { oneHotGradConfig } from '@tensorflow/tfjs-core/dist/gradients/OneHot_grad.js'
import { onesLikeGradConfig } from '@tensorflow/tfjs-core/dist/gradients/OnesLike_grad.js'
import { packGradConfig } from '@tensorflow/tfjs-core/dist/gradients/Pack_grad.js'
import { padV2GradConfig } from '@tensorflow/tfjs-core/dist/gradients/PadV2_grad.js'
import { powGradConfig } from '@tensorflow/tfjs-core/dist/gradients/Pow_grad.js'
import { reciprocalGradConfig } from '@tensorflow/tfjs-core/dist/gradients/Reciprocal_grad.js'
import { relu6GradConfig } from '@tensorflow/tfjs-core/dist/gradients/Relu6_grad.js'
import { reluGradConfig } from '@tensorflow/tfjs-core/dist/gradients/Relu_grad.js'
import { reshapeGradConfig } from '@tensorflow/tfjs-core/dist/gradients/Reshape_grad.js'
import { rsqrtGradConfig } from '@tensorflow/tfjs-core/dist/gradients/Rsqrt_grad.js'
import { selectGradConfig } from '@tensorflow/tfjs-core/dist/gradients/Select_grad.js'
import { sigmoidGradConfig } from '@tensorflow/tfjs-core/dist/gradients/Sigmoid_grad.js'
import { signGradConfig } from '@tensorflow/tfjs-core/dist/gradients/Sign_grad.js'
import { sliceGradConfig } from '@tensorflow/tfjs-core/dist/gradients/Slice_grad.js'
import { softmaxGradConfig } from '@tensorflow/tfjs-core/dist/gradients/Softmax_grad.js'
import { softplusGradConfig } from '@tensorflow/tfjs-core/dist/gradients/Softplus_grad.js'
import { splitVGradConfig } from '@tensorflow/tfjs-core/dist/gradients/SplitV_grad.js'
import { sqrtGradConfig } from '@tensorflow/tfjs-core/dist/gradients/Sqrt_grad.js'
import { squareGradConfig } from '@tensorflow/tfjs-core/dist/gradients/Square_grad.js'
import { squaredDifferenceGradConfig } from '@tensorflow/tfjs-core/dist/gradients/SquaredDifference_grad.js'
import { stepGradConfig } from '@tensorflow/tfjs-core/dist/gradients/Step_grad.js'
import { subGradConfig } from '@tensorflow/tfjs-core/dist/gradients/Sub_grad.js'
import { sumGradConfig } from '@tensorflow/tfjs-core/dist/gradients/Sum_grad.js'
import { tanhGradConfig } from '@tensorflow/tfjs-core/dist/gradients/Tanh_grad.js'
import { tileGradConfig } from '@tensorflow/tfjs-core/dist/gradients/Tile_grad.js'
import { transposeGradConfig } from '@tensorflow/tfjs-core/dist/gradients/Transpose_grad.js'
import { unpackGradConfig } from '@tensorflow/tfjs-core/dist/gradients/Unpack_grad.js'
import { zerosLikeGradConfig } from '@tensorflow/tfjs-core/dist/gradients/ZerosLike_grad.js'

const configs: GradConfig[] = [
  absGradConfig, addGradConfig, addNGradConfig, batchMatMulGradConfig, broadcastToGradConfig, castGradConfig,
  clipByValueGradConfig, complexAbsGradConfig, concatGradConfig, divGradConfig, eluGradConfig, erfGradConfig,
  expGradConfig, expandDimsGradConfig, expm1GradConfig, floorDivGradConfig, floorGradConfig, gatherGradConfig,
  greaterEqualGradConfig, identityGradConfig, leakyReluGradConfig, log1pGradConfig, logGradConfig,
  logSoftmaxGradConfig, maxGradConfig, maximumGradConfig, meanGradConfig, minGradConfig, minimumGradConfig,
  multiplyGradConfig, negGradConfig, oneHotGradConfig, onesLikeGradConfig, packGradConfig, padV2GradConfig,
  powGradConfig, reciprocalGradConfig, relu6GradConfig, reluGradConfig, reshapeGradConfig, rsqrtGradConfig,
  selectGradConfig, sigmoidGradConfig, signGradConfig, sliceGradConfig, softmaxGradConfig, softplusGradConfig,
  splitVGradConfig, sqrtGradConfig, squareGradConfig, squaredDifferenceGradConfig, stepGradConfig, subGradConfig,
  sumGradConfig, tanhGradConfig, tileGradConfig, transposeGradConfig, unpackGradConfig, zerosLikeGradConfig,
]

// Leave gradients someone registered already (e.g. a custom fast MatMul gradient) in place.
for (const c of configs) {
  if (getGradient(c.kernelName) == null) registerGradient(c)
}
