;; One AdamW update over n float32 values, in the wasm backend's own (shared) memory: m and v in
;; place, the new weights to `out`; torch.optim.AdamW's arithmetic, in float32, 4 lanes at a time:
;;   m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2
;;   out = decay w - step (m / (sqrt(v) / bc2 + eps))
;; Assembled by `npm run gen` (scripts/gen-wasm.ts) into adamw-wasm.ts.
(module
  (import "env" "memory" (memory 1 65536 shared))
  (func (export "adamw")
    (param $w i32) (param $g i32) (param $m i32) (param $v i32) (param $out i32) (param $n i32)
    (param $b1 f32) (param $b2 f32) (param $eps f32) (param $step f32) (param $bc2 f32) (param $decay f32)
    (local $i i32) (local $end i32) (local $at i32)
    (local $B1 v128) (local $C1 v128) (local $B2 v128) (local $C2 v128)
    (local $E v128) (local $S v128) (local $BC v128) (local $D v128)
    (local $gv v128) (local $mv v128) (local $vv v128)
    (local $gs f32) (local $ms f32) (local $vs f32)
    (local.set $B1 (f32x4.splat (local.get $b1)))
    (local.set $C1 (f32x4.splat (f32.sub (f32.const 1) (local.get $b1))))
    (local.set $B2 (f32x4.splat (local.get $b2)))
    (local.set $C2 (f32x4.splat (f32.sub (f32.const 1) (local.get $b2))))
    (local.set $E (f32x4.splat (local.get $eps)))
    (local.set $S (f32x4.splat (local.get $step)))
    (local.set $BC (f32x4.splat (local.get $bc2)))
    (local.set $D (f32x4.splat (local.get $decay)))
    (local.set $end (i32.and (local.get $n) (i32.const -4)))
    (block $simd_done
      (loop $simd
        (br_if $simd_done (i32.ge_u (local.get $i) (local.get $end)))
        (local.set $at (i32.shl (local.get $i) (i32.const 2)))
        (local.set $gv (v128.load align=4 (i32.add (local.get $g) (local.get $at))))
        (local.set $mv
          (f32x4.add
            (f32x4.mul (local.get $B1) (v128.load align=4 (i32.add (local.get $m) (local.get $at))))
            (f32x4.mul (local.get $C1) (local.get $gv))))
        (local.set $vv
          (f32x4.add
            (f32x4.mul (local.get $B2) (v128.load align=4 (i32.add (local.get $v) (local.get $at))))
            (f32x4.mul (local.get $C2) (f32x4.mul (local.get $gv) (local.get $gv)))))
        (v128.store align=4 (i32.add (local.get $m) (local.get $at)) (local.get $mv))
        (v128.store align=4 (i32.add (local.get $v) (local.get $at)) (local.get $vv))
        (v128.store align=4 (i32.add (local.get $out) (local.get $at))
          (f32x4.sub
            (f32x4.mul (v128.load align=4 (i32.add (local.get $w) (local.get $at))) (local.get $D))
            (f32x4.mul
              (local.get $S)
              (f32x4.div
                (local.get $mv)
                (f32x4.add (f32x4.div (f32x4.sqrt (local.get $vv)) (local.get $BC)) (local.get $E))))))
        (local.set $i (i32.add (local.get $i) (i32.const 4)))
        (br $simd)))
    (block $tail_done
      (loop $tail
        (br_if $tail_done (i32.ge_u (local.get $i) (local.get $n)))
        (local.set $at (i32.shl (local.get $i) (i32.const 2)))
        (local.set $gs (f32.load (i32.add (local.get $g) (local.get $at))))
        (local.set $ms
          (f32.add
            (f32.mul (local.get $b1) (f32.load (i32.add (local.get $m) (local.get $at))))
            (f32.mul (f32.sub (f32.const 1) (local.get $b1)) (local.get $gs))))
        (local.set $vs
          (f32.add
            (f32.mul (local.get $b2) (f32.load (i32.add (local.get $v) (local.get $at))))
            (f32.mul (f32.sub (f32.const 1) (local.get $b2)) (f32.mul (local.get $gs) (local.get $gs)))))
        (f32.store (i32.add (local.get $m) (local.get $at)) (local.get $ms))
        (f32.store (i32.add (local.get $v) (local.get $at)) (local.get $vs))
        (f32.store (i32.add (local.get $out) (local.get $at))
          (f32.sub
            (f32.mul (f32.load (i32.add (local.get $w) (local.get $at))) (local.get $decay))
            (f32.mul
              (local.get $step)
              (f32.div
                (local.get $ms)
                (f32.add (f32.div (f32.sqrt (local.get $vs)) (local.get $bc2)) (local.get $eps))))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $tail)))))
