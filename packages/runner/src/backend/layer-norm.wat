;; torch.nn.LayerNorm over the last axis (biased variance, eps inside the square root), forward and
;; backward, each in one kernel over the wasm backend's memory, 4 lanes at a time. The tf-ops
;; version in nn/layer-norm.ts is 9 kernels forward and 12 backward, each a pass over the
;; activation; these are 3 passes forward and 2 backward. Rows are `d` floats; sums run in 4 lanes
;; and are added up lane 0 + 1, 2 + 3, then the two, then the tail: the same order for any thread
;; count, so results do not depend on it.
;; Assembled by `npm run gen` (scripts/gen-wasm.ts) into layer-norm-wasm.ts.
(module
  (import "env" "memory" (memory 1 65536 shared))

  (func $hsum (param $v v128) (result f32)
    (f32.add
      (f32.add (f32x4.extract_lane 0 (local.get $v)) (f32x4.extract_lane 1 (local.get $v)))
      (f32.add (f32x4.extract_lane 2 (local.get $v)) (f32x4.extract_lane 3 (local.get $v)))))

  ;; xhat = (x - mean) * rstd, y = xhat * w + b, rstd = 1 / sqrt(var + eps), per row.
  (func (export "layernorm")
    (param $x i32) (param $w i32) (param $b i32) (param $y i32) (param $xhat i32) (param $rstd i32)
    (param $rows i32) (param $d i32) (param $eps f32)
    (local $row i32) (local $o i32) (local $end i32) (local $bytes i32) (local $px i32) (local $py i32) (local $ph i32)
    (local $acc v128) (local $meanv v128) (local $rv v128) (local $c v128) (local $h v128)
    (local $s f32) (local $mean f32) (local $r f32) (local $cs f32) (local $hs f32) (local $df f32)
    (local.set $end (i32.shl (i32.and (local.get $d) (i32.const -4)) (i32.const 2)))
    (local.set $bytes (i32.shl (local.get $d) (i32.const 2)))
    (local.set $df (f32.convert_i32_u (local.get $d)))
    (block $rows_done
      (loop $rows_loop
        (br_if $rows_done (i32.ge_u (local.get $row) (local.get $rows)))
        (local.set $px (i32.add (local.get $x) (i32.mul (local.get $row) (local.get $bytes))))
        (local.set $py (i32.add (local.get $y) (i32.mul (local.get $row) (local.get $bytes))))
        (local.set $ph (i32.add (local.get $xhat) (i32.mul (local.get $row) (local.get $bytes))))
        ;; mean
        (local.set $acc (v128.const f32x4 0 0 0 0))
        (local.set $o (i32.const 0))
        (block $m_done
          (loop $m
            (br_if $m_done (i32.ge_u (local.get $o) (local.get $end)))
            (local.set $acc (f32x4.add (local.get $acc) (v128.load align=4 (i32.add (local.get $px) (local.get $o)))))
            (local.set $o (i32.add (local.get $o) (i32.const 16)))
            (br $m)))
        (local.set $s (call $hsum (local.get $acc)))
        (block $mt_done
          (loop $mt
            (br_if $mt_done (i32.ge_u (local.get $o) (local.get $bytes)))
            (local.set $s (f32.add (local.get $s) (f32.load (i32.add (local.get $px) (local.get $o)))))
            (local.set $o (i32.add (local.get $o) (i32.const 4)))
            (br $mt)))
        (local.set $mean (f32.div (local.get $s) (local.get $df)))
        (local.set $meanv (f32x4.splat (local.get $mean)))
        ;; variance of the centred row
        (local.set $acc (v128.const f32x4 0 0 0 0))
        (local.set $o (i32.const 0))
        (block $v_done
          (loop $v
            (br_if $v_done (i32.ge_u (local.get $o) (local.get $end)))
            (local.set $c (f32x4.sub (v128.load align=4 (i32.add (local.get $px) (local.get $o))) (local.get $meanv)))
            (local.set $acc (f32x4.add (local.get $acc) (f32x4.mul (local.get $c) (local.get $c))))
            (local.set $o (i32.add (local.get $o) (i32.const 16)))
            (br $v)))
        (local.set $s (call $hsum (local.get $acc)))
        (block $vt_done
          (loop $vt
            (br_if $vt_done (i32.ge_u (local.get $o) (local.get $bytes)))
            (local.set $cs (f32.sub (f32.load (i32.add (local.get $px) (local.get $o))) (local.get $mean)))
            (local.set $s (f32.add (local.get $s) (f32.mul (local.get $cs) (local.get $cs))))
            (local.set $o (i32.add (local.get $o) (i32.const 4)))
            (br $vt)))
        (local.set $r (f32.div (f32.const 1) (f32.sqrt (f32.add (f32.div (local.get $s) (local.get $df)) (local.get $eps)))))
        (f32.store (i32.add (local.get $rstd) (i32.shl (local.get $row) (i32.const 2))) (local.get $r))
        (local.set $rv (f32x4.splat (local.get $r)))
        ;; normalise, scale and shift
        (local.set $o (i32.const 0))
        (block $n_done
          (loop $n
            (br_if $n_done (i32.ge_u (local.get $o) (local.get $end)))
            (local.set $h (f32x4.mul (f32x4.sub (v128.load align=4 (i32.add (local.get $px) (local.get $o))) (local.get $meanv)) (local.get $rv)))
            (v128.store align=4 (i32.add (local.get $ph) (local.get $o)) (local.get $h))
            (v128.store align=4 (i32.add (local.get $py) (local.get $o))
              (f32x4.add
                (f32x4.mul (local.get $h) (v128.load align=4 (i32.add (local.get $w) (local.get $o))))
                (v128.load align=4 (i32.add (local.get $b) (local.get $o)))))
            (local.set $o (i32.add (local.get $o) (i32.const 16)))
            (br $n)))
        (block $nt_done
          (loop $nt
            (br_if $nt_done (i32.ge_u (local.get $o) (local.get $bytes)))
            (local.set $hs (f32.mul (f32.sub (f32.load (i32.add (local.get $px) (local.get $o))) (local.get $mean)) (local.get $r)))
            (f32.store (i32.add (local.get $ph) (local.get $o)) (local.get $hs))
            (f32.store (i32.add (local.get $py) (local.get $o))
              (f32.add
                (f32.mul (local.get $hs) (f32.load (i32.add (local.get $w) (local.get $o))))
                (f32.load (i32.add (local.get $b) (local.get $o)))))
            (local.set $o (i32.add (local.get $o) (i32.const 4)))
            (br $nt)))
        (local.set $row (i32.add (local.get $row) (i32.const 1)))
        (br $rows_loop))))

  ;; With g = dy * w: dx = rstd * (g - mean(g) - xhat * mean(g * xhat)) per row;
  ;; dw = sum over rows of dy * xhat, db = sum over rows of dy, added row after row.
  (func (export "layernorm_grad")
    (param $dy i32) (param $xhat i32) (param $rstd i32) (param $w i32) (param $dx i32) (param $dw i32) (param $db i32)
    (param $rows i32) (param $d i32)
    (local $row i32) (local $o i32) (local $end i32) (local $bytes i32) (local $pdy i32) (local $ph i32) (local $pdx i32)
    (local $accg v128) (local $accgx v128) (local $dyv v128) (local $hv v128) (local $gv v128) (local $mgv v128) (local $mgxv v128) (local $rv v128)
    (local $sg f32) (local $sgx f32) (local $dys f32) (local $hs f32) (local $gs f32) (local $mg f32) (local $mgx f32) (local $r f32) (local $df f32)
    (local.set $end (i32.shl (i32.and (local.get $d) (i32.const -4)) (i32.const 2)))
    (local.set $bytes (i32.shl (local.get $d) (i32.const 2)))
    (local.set $df (f32.convert_i32_u (local.get $d)))
    (memory.fill (local.get $dw) (i32.const 0) (local.get $bytes))
    (memory.fill (local.get $db) (i32.const 0) (local.get $bytes))
    (block $rows_done
      (loop $rows_loop
        (br_if $rows_done (i32.ge_u (local.get $row) (local.get $rows)))
        (local.set $pdy (i32.add (local.get $dy) (i32.mul (local.get $row) (local.get $bytes))))
        (local.set $ph (i32.add (local.get $xhat) (i32.mul (local.get $row) (local.get $bytes))))
        (local.set $pdx (i32.add (local.get $dx) (i32.mul (local.get $row) (local.get $bytes))))
        ;; sums of g and g * xhat; dw and db take this row
        (local.set $accg (v128.const f32x4 0 0 0 0))
        (local.set $accgx (v128.const f32x4 0 0 0 0))
        (local.set $o (i32.const 0))
        (block $s_done
          (loop $s
            (br_if $s_done (i32.ge_u (local.get $o) (local.get $end)))
            (local.set $dyv (v128.load align=4 (i32.add (local.get $pdy) (local.get $o))))
            (local.set $hv (v128.load align=4 (i32.add (local.get $ph) (local.get $o))))
            (local.set $gv (f32x4.mul (local.get $dyv) (v128.load align=4 (i32.add (local.get $w) (local.get $o)))))
            (local.set $accg (f32x4.add (local.get $accg) (local.get $gv)))
            (local.set $accgx (f32x4.add (local.get $accgx) (f32x4.mul (local.get $gv) (local.get $hv))))
            (v128.store align=4 (i32.add (local.get $dw) (local.get $o))
              (f32x4.add (v128.load align=4 (i32.add (local.get $dw) (local.get $o))) (f32x4.mul (local.get $dyv) (local.get $hv))))
            (v128.store align=4 (i32.add (local.get $db) (local.get $o))
              (f32x4.add (v128.load align=4 (i32.add (local.get $db) (local.get $o))) (local.get $dyv)))
            (local.set $o (i32.add (local.get $o) (i32.const 16)))
            (br $s)))
        (local.set $sg (call $hsum (local.get $accg)))
        (local.set $sgx (call $hsum (local.get $accgx)))
        (block $st_done
          (loop $st
            (br_if $st_done (i32.ge_u (local.get $o) (local.get $bytes)))
            (local.set $dys (f32.load (i32.add (local.get $pdy) (local.get $o))))
            (local.set $hs (f32.load (i32.add (local.get $ph) (local.get $o))))
            (local.set $gs (f32.mul (local.get $dys) (f32.load (i32.add (local.get $w) (local.get $o)))))
            (local.set $sg (f32.add (local.get $sg) (local.get $gs)))
            (local.set $sgx (f32.add (local.get $sgx) (f32.mul (local.get $gs) (local.get $hs))))
            (f32.store (i32.add (local.get $dw) (local.get $o))
              (f32.add (f32.load (i32.add (local.get $dw) (local.get $o))) (f32.mul (local.get $dys) (local.get $hs))))
            (f32.store (i32.add (local.get $db) (local.get $o))
              (f32.add (f32.load (i32.add (local.get $db) (local.get $o))) (local.get $dys)))
            (local.set $o (i32.add (local.get $o) (i32.const 4)))
            (br $st)))
        (local.set $mg (f32.div (local.get $sg) (local.get $df)))
        (local.set $mgx (f32.div (local.get $sgx) (local.get $df)))
        (local.set $r (f32.load (i32.add (local.get $rstd) (i32.shl (local.get $row) (i32.const 2)))))
        (local.set $mgv (f32x4.splat (local.get $mg)))
        (local.set $mgxv (f32x4.splat (local.get $mgx)))
        (local.set $rv (f32x4.splat (local.get $r)))
        ;; dx
        (local.set $o (i32.const 0))
        (block $x_done
          (loop $xl
            (br_if $x_done (i32.ge_u (local.get $o) (local.get $end)))
            (local.set $gv (f32x4.mul (v128.load align=4 (i32.add (local.get $pdy) (local.get $o))) (v128.load align=4 (i32.add (local.get $w) (local.get $o)))))
            (v128.store align=4 (i32.add (local.get $pdx) (local.get $o))
              (f32x4.mul
                (f32x4.sub
                  (f32x4.sub (local.get $gv) (local.get $mgv))
                  (f32x4.mul (v128.load align=4 (i32.add (local.get $ph) (local.get $o))) (local.get $mgxv)))
                (local.get $rv)))
            (local.set $o (i32.add (local.get $o) (i32.const 16)))
            (br $xl)))
        (block $xt_done
          (loop $xt
            (br_if $xt_done (i32.ge_u (local.get $o) (local.get $bytes)))
            (local.set $gs (f32.mul (f32.load (i32.add (local.get $pdy) (local.get $o))) (f32.load (i32.add (local.get $w) (local.get $o)))))
            (f32.store (i32.add (local.get $pdx) (local.get $o))
              (f32.mul
                (f32.sub
                  (f32.sub (local.get $gs) (local.get $mg))
                  (f32.mul (f32.load (i32.add (local.get $ph) (local.get $o))) (local.get $mgx)))
                (local.get $r)))
            (local.set $o (i32.add (local.get $o) (i32.const 4)))
            (br $xt)))
        (local.set $row (i32.add (local.get $row) (i32.const 1)))
        (br $rows_loop)))))
