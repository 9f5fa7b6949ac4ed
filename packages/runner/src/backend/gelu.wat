;; GELU, torch's exact (erf) form, in one pass over the wasm backend's memory, 4 lanes at a time:
;;   cdf2 = 1 + erf(x / sqrt 2),  out = (x / 2) cdf2
;; with erf the rational approximation of nn/activation.ts (Eigen's / XLA's: float32 accuracy on
;; [-4, 4], +-1 beyond), in the same float32 operations and order as the tf-ops version there,
;; which it replaces on wasm. cdf2 is kept for the gradient:
;;   dx = dy (cdf2 / 2 + x phi(x)),  phi(x) = exp(-x^2 / 2) / sqrt(2 pi)
;; with exp by range reduction (a = k ln 2 + r, |r| <= ln 2 / 2), a degree-6 Taylor polynomial
;; in r (relative error under 2e-7) and 2^k built in the exponent bits; 0 below a = -87 (|x| > 13.2).
;; Assembled by `npm run gen` (scripts/gen-wasm.ts) into gelu-wasm.ts.
(module
  (import "env" "memory" (memory 1 65536 shared))
  (func (export "gelu") (param $x i32) (param $out i32) (param $cdf i32) (param $n i32)
    (local $i i32) (local $end i32) (local $at i32)
    (local $xv v128) (local $t v128) (local $t2 v128) (local $p v128) (local $q v128) (local $c v128)
    (local $xs f32) (local $s f32) (local $s2 f32) (local $ps f32) (local $qs f32) (local $cs f32)
    (local.set $end (i32.and (local.get $n) (i32.const -4)))
    (block $simd_done
      (loop $simd
        (br_if $simd_done (i32.ge_u (local.get $i) (local.get $end)))
        (local.set $at (i32.shl (local.get $i) (i32.const 2)))
        (local.set $xv (v128.load align=4 (i32.add (local.get $x) (local.get $at))))
        ;; clip(x / sqrt 2, -4, 4)
        (local.set $t
          (f32x4.max
            (f32x4.min (f32x4.mul (local.get $xv) (v128.const f32x4 0.7071067811865476 0.7071067811865476 0.7071067811865476 0.7071067811865476)) (v128.const f32x4 4 4 4 4))
            (v128.const f32x4 -4 -4 -4 -4)))
        (local.set $t2 (f32x4.mul (local.get $t) (local.get $t)))
        (local.set $p (f32x4.add (f32x4.mul (local.get $t2) (v128.const f32x4 -2.72614225801306e-10 -2.72614225801306e-10 -2.72614225801306e-10 -2.72614225801306e-10)) (v128.const f32x4 2.77068142495902e-8 2.77068142495902e-8 2.77068142495902e-8 2.77068142495902e-8)))
        (local.set $p (f32x4.add (f32x4.mul (local.get $t2) (local.get $p)) (v128.const f32x4 -2.10102402082508e-6 -2.10102402082508e-6 -2.10102402082508e-6 -2.10102402082508e-6)))
        (local.set $p (f32x4.add (f32x4.mul (local.get $t2) (local.get $p)) (v128.const f32x4 -5.69250639462346e-5 -5.69250639462346e-5 -5.69250639462346e-5 -5.69250639462346e-5)))
        (local.set $p (f32x4.add (f32x4.mul (local.get $t2) (local.get $p)) (v128.const f32x4 -7.34990630326855e-4 -7.34990630326855e-4 -7.34990630326855e-4 -7.34990630326855e-4)))
        (local.set $p (f32x4.add (f32x4.mul (local.get $t2) (local.get $p)) (v128.const f32x4 -2.95459980854025e-3 -2.95459980854025e-3 -2.95459980854025e-3 -2.95459980854025e-3)))
        (local.set $p (f32x4.add (f32x4.mul (local.get $t2) (local.get $p)) (v128.const f32x4 -1.60960333262415e-2 -1.60960333262415e-2 -1.60960333262415e-2 -1.60960333262415e-2)))
        (local.set $q (f32x4.add (f32x4.mul (local.get $t2) (v128.const f32x4 -1.45660718464996e-5 -1.45660718464996e-5 -1.45660718464996e-5 -1.45660718464996e-5)) (v128.const f32x4 -2.13374055278905e-4 -2.13374055278905e-4 -2.13374055278905e-4 -2.13374055278905e-4)))
        (local.set $q (f32x4.add (f32x4.mul (local.get $t2) (local.get $q)) (v128.const f32x4 -1.68282697438203e-3 -1.68282697438203e-3 -1.68282697438203e-3 -1.68282697438203e-3)))
        (local.set $q (f32x4.add (f32x4.mul (local.get $t2) (local.get $q)) (v128.const f32x4 -7.37332916720468e-3 -7.37332916720468e-3 -7.37332916720468e-3 -7.37332916720468e-3)))
        (local.set $q (f32x4.add (f32x4.mul (local.get $t2) (local.get $q)) (v128.const f32x4 -1.42647390514189e-2 -1.42647390514189e-2 -1.42647390514189e-2 -1.42647390514189e-2)))
        (local.set $c
          (f32x4.add (f32x4.div (f32x4.mul (local.get $t) (local.get $p)) (local.get $q)) (v128.const f32x4 1 1 1 1)))
        (v128.store align=4 (i32.add (local.get $cdf) (local.get $at)) (local.get $c))
        (v128.store align=4 (i32.add (local.get $out) (local.get $at))
          (f32x4.mul (f32x4.mul (local.get $xv) (v128.const f32x4 0.5 0.5 0.5 0.5)) (local.get $c)))
        (local.set $i (i32.add (local.get $i) (i32.const 4)))
        (br $simd)))
    (block $tail_done
      (loop $tail
        (br_if $tail_done (i32.ge_u (local.get $i) (local.get $n)))
        (local.set $at (i32.shl (local.get $i) (i32.const 2)))
        (local.set $xs (f32.load (i32.add (local.get $x) (local.get $at))))
        (local.set $s
          (f32.max (f32.min (f32.mul (local.get $xs) (f32.const 0.7071067811865476)) (f32.const 4)) (f32.const -4)))
        (local.set $s2 (f32.mul (local.get $s) (local.get $s)))
        (local.set $ps (f32.add (f32.mul (local.get $s2) (f32.const -2.72614225801306e-10)) (f32.const 2.77068142495902e-8)))
        (local.set $ps (f32.add (f32.mul (local.get $s2) (local.get $ps)) (f32.const -2.10102402082508e-6)))
        (local.set $ps (f32.add (f32.mul (local.get $s2) (local.get $ps)) (f32.const -5.69250639462346e-5)))
        (local.set $ps (f32.add (f32.mul (local.get $s2) (local.get $ps)) (f32.const -7.34990630326855e-4)))
        (local.set $ps (f32.add (f32.mul (local.get $s2) (local.get $ps)) (f32.const -2.95459980854025e-3)))
        (local.set $ps (f32.add (f32.mul (local.get $s2) (local.get $ps)) (f32.const -1.60960333262415e-2)))
        (local.set $qs (f32.add (f32.mul (local.get $s2) (f32.const -1.45660718464996e-5)) (f32.const -2.13374055278905e-4)))
        (local.set $qs (f32.add (f32.mul (local.get $s2) (local.get $qs)) (f32.const -1.68282697438203e-3)))
        (local.set $qs (f32.add (f32.mul (local.get $s2) (local.get $qs)) (f32.const -7.37332916720468e-3)))
        (local.set $qs (f32.add (f32.mul (local.get $s2) (local.get $qs)) (f32.const -1.42647390514189e-2)))
        (local.set $cs (f32.add (f32.div (f32.mul (local.get $s) (local.get $ps)) (local.get $qs)) (f32.const 1)))
        (f32.store (i32.add (local.get $cdf) (local.get $at)) (local.get $cs))
        (f32.store (i32.add (local.get $out) (local.get $at)) (f32.mul (f32.mul (local.get $xs) (f32.const 0.5)) (local.get $cs)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $tail))))

  (func (export "gelu_grad") (param $dy i32) (param $x i32) (param $cdf i32) (param $dx i32) (param $n i32)
    (local $i i32) (local $end i32) (local $at i32)
    (local $xv v128) (local $a v128) (local $k v128) (local $r v128) (local $p v128) (local $e v128)
    (local $xs f32) (local $as f32) (local $ks f32) (local $rs f32) (local $ps f32) (local $es f32)
    (local.set $end (i32.and (local.get $n) (i32.const -4)))
    (block $simd_done
      (loop $simd
        (br_if $simd_done (i32.ge_u (local.get $i) (local.get $end)))
        (local.set $at (i32.shl (local.get $i) (i32.const 2)))
        (local.set $xv (v128.load align=4 (i32.add (local.get $x) (local.get $at))))
        ;; a = -x^2 / 2, clamped where 2^k stays a normal float
        (local.set $a (f32x4.max
          (f32x4.mul (f32x4.mul (local.get $xv) (local.get $xv)) (v128.const f32x4 -0.5 -0.5 -0.5 -0.5))
          (v128.const f32x4 -87 -87 -87 -87)))
        (local.set $k (f32x4.nearest (f32x4.mul (local.get $a) (v128.const f32x4 1.4426950408889634 1.4426950408889634 1.4426950408889634 1.4426950408889634))))
        (local.set $r (f32x4.sub
          (f32x4.sub (local.get $a) (f32x4.mul (local.get $k) (v128.const f32x4 0.693359375 0.693359375 0.693359375 0.693359375)))
          (f32x4.mul (local.get $k) (v128.const f32x4 -2.12194440e-4 -2.12194440e-4 -2.12194440e-4 -2.12194440e-4))))
        (local.set $p (f32x4.add (f32x4.mul (local.get $r) (v128.const f32x4 1.3888889e-3 1.3888889e-3 1.3888889e-3 1.3888889e-3)) (v128.const f32x4 8.3333333e-3 8.3333333e-3 8.3333333e-3 8.3333333e-3)))
        (local.set $p (f32x4.add (f32x4.mul (local.get $r) (local.get $p)) (v128.const f32x4 4.1666667e-2 4.1666667e-2 4.1666667e-2 4.1666667e-2)))
        (local.set $p (f32x4.add (f32x4.mul (local.get $r) (local.get $p)) (v128.const f32x4 0.16666667 0.16666667 0.16666667 0.16666667)))
        (local.set $p (f32x4.add (f32x4.mul (local.get $r) (local.get $p)) (v128.const f32x4 0.5 0.5 0.5 0.5)))
        (local.set $p (f32x4.add (f32x4.mul (local.get $r) (local.get $p)) (v128.const f32x4 1 1 1 1)))
        (local.set $p (f32x4.add (f32x4.mul (local.get $r) (local.get $p)) (v128.const f32x4 1 1 1 1)))
        ;; exp(a) = p 2^k, and 0 where a was clamped
        (local.set $e (f32x4.mul (local.get $p)
          (i32x4.shl (i32x4.add (i32x4.trunc_sat_f32x4_s (local.get $k)) (v128.const i32x4 127 127 127 127)) (i32.const 23))))
        (local.set $e (v128.and (local.get $e)
          (f32x4.gt (f32x4.mul (f32x4.mul (local.get $xv) (local.get $xv)) (v128.const f32x4 -0.5 -0.5 -0.5 -0.5)) (v128.const f32x4 -87 -87 -87 -87))))
        (v128.store align=4 (i32.add (local.get $dx) (local.get $at))
          (f32x4.mul
            (v128.load align=4 (i32.add (local.get $dy) (local.get $at)))
            (f32x4.add
              (f32x4.mul (v128.load align=4 (i32.add (local.get $cdf) (local.get $at))) (v128.const f32x4 0.5 0.5 0.5 0.5))
              (f32x4.mul (local.get $xv) (f32x4.mul (local.get $e) (v128.const f32x4 0.3989422804014327 0.3989422804014327 0.3989422804014327 0.3989422804014327))))))
        (local.set $i (i32.add (local.get $i) (i32.const 4)))
        (br $simd)))
    (block $tail_done
      (loop $tail
        (br_if $tail_done (i32.ge_u (local.get $i) (local.get $n)))
        (local.set $at (i32.shl (local.get $i) (i32.const 2)))
        (local.set $xs (f32.load (i32.add (local.get $x) (local.get $at))))
        (local.set $as (f32.max (f32.mul (f32.mul (local.get $xs) (local.get $xs)) (f32.const -0.5)) (f32.const -87)))
        (local.set $ks (f32.nearest (f32.mul (local.get $as) (f32.const 1.4426950408889634))))
        (local.set $rs (f32.sub
          (f32.sub (local.get $as) (f32.mul (local.get $ks) (f32.const 0.693359375)))
          (f32.mul (local.get $ks) (f32.const -2.12194440e-4))))
        (local.set $ps (f32.add (f32.mul (local.get $rs) (f32.const 1.3888889e-3)) (f32.const 8.3333333e-3)))
        (local.set $ps (f32.add (f32.mul (local.get $rs) (local.get $ps)) (f32.const 4.1666667e-2)))
        (local.set $ps (f32.add (f32.mul (local.get $rs) (local.get $ps)) (f32.const 0.16666667)))
        (local.set $ps (f32.add (f32.mul (local.get $rs) (local.get $ps)) (f32.const 0.5)))
        (local.set $ps (f32.add (f32.mul (local.get $rs) (local.get $ps)) (f32.const 1)))
        (local.set $ps (f32.add (f32.mul (local.get $rs) (local.get $ps)) (f32.const 1)))
        (local.set $es (f32.mul (local.get $ps)
          (f32.reinterpret_i32 (i32.shl (i32.add (i32.trunc_f32_s (local.get $ks)) (i32.const 127)) (i32.const 23)))))
        (if (f32.le (f32.mul (f32.mul (local.get $xs) (local.get $xs)) (f32.const -0.5)) (f32.const -87))
          (then (local.set $es (f32.const 0))))
        (f32.store (i32.add (local.get $dx) (local.get $at))
          (f32.mul
            (f32.load (i32.add (local.get $dy) (local.get $at)))
            (f32.add
              (f32.mul (f32.load (i32.add (local.get $cdf) (local.get $at))) (f32.const 0.5))
              (f32.mul (local.get $xs) (f32.mul (local.get $es) (f32.const 0.3989422804014327))))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $tail)))))
