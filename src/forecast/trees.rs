//! Regression trees, a random forest and gradient boosting, as linfa
//! `Fit`/`PredictInplace` algorithms on ndarray. (linfa-trees 0.8 fits
//! classification trees only.) Deterministic: every random choice comes from
//! a seeded splitmix64 stream. Models serialize to JSON.

use linfa::dataset::DatasetBase;
use linfa::traits::{Fit, PredictInplace};
use ndarray::{Array1, Array2, ArrayView1, ArrayView2};
use serde::{Deserialize, Serialize};

/// splitmix64: small, fast, deterministic.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E3779B97F4A7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58476D1CE4E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D049BB133111EB);
        z ^ (z >> 31)
    }
    /// Uniform in `0..n`.
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n.max(1) as u64) as usize
    }
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub enum TreeNode {
    Leaf(f64),
    Split {
        feature: usize,
        threshold: f64,
        left: usize,
        right: usize,
    },
}

/// A CART regression tree (squared error). Saved as JSON in parallel
/// arrays (about a third of the size of one object per node).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(into = "CompactTree", try_from = "CompactTree")]
pub struct RegressionTree {
    pub nodes: Vec<TreeNode>,
}

/// A tree's JSON: per node the split feature (-1 for a leaf), the threshold
/// or leaf value, and the children's indices (0 for a leaf).
#[derive(Serialize, Deserialize)]
struct CompactTree {
    feature: Vec<i32>,
    value: Vec<f64>,
    left: Vec<u32>,
    right: Vec<u32>,
}

impl From<RegressionTree> for CompactTree {
    fn from(t: RegressionTree) -> Self {
        let n = t.nodes.len();
        let mut c = CompactTree {
            feature: Vec::with_capacity(n),
            value: Vec::with_capacity(n),
            left: Vec::with_capacity(n),
            right: Vec::with_capacity(n),
        };
        for node in t.nodes {
            let (f, v, l, r) = match node {
                TreeNode::Leaf(v) => (-1, v, 0, 0),
                TreeNode::Split {
                    feature,
                    threshold,
                    left,
                    right,
                } => (feature as i32, threshold, left as u32, right as u32),
            };
            c.feature.push(f);
            c.value.push(v);
            c.left.push(l);
            c.right.push(r);
        }
        c
    }
}

impl TryFrom<CompactTree> for RegressionTree {
    type Error = String;
    fn try_from(c: CompactTree) -> Result<Self, String> {
        let n = c.feature.len();
        if c.value.len() != n || c.left.len() != n || c.right.len() != n || n == 0 {
            return Err("tree arrays must be non-empty and of equal length".into());
        }
        let nodes = (0..n)
            .map(|i| {
                if c.feature[i] < 0 {
                    return Ok(TreeNode::Leaf(c.value[i]));
                }
                let (l, r) = (c.left[i] as usize, c.right[i] as usize);
                // Children follow their parent: no cycles.
                if l <= i || r <= i || l >= n || r >= n {
                    return Err(format!("node {i}: child index out of range"));
                }
                Ok(TreeNode::Split {
                    feature: c.feature[i] as usize,
                    threshold: c.value[i],
                    left: l,
                    right: r,
                })
            })
            .collect::<Result<Vec<_>, String>>()?;
        Ok(RegressionTree { nodes })
    }
}

#[derive(Clone, Debug)]
pub struct TreeParams {
    pub max_depth: usize,
    pub min_samples_leaf: usize,
    /// Features tried at each split (all when `None`).
    pub max_features: Option<usize>,
    pub seed: u64,
}

impl Default for TreeParams {
    fn default() -> Self {
        TreeParams {
            max_depth: 8,
            min_samples_leaf: 5,
            max_features: None,
            seed: 1,
        }
    }
}

struct Builder<'a> {
    x: ArrayView2<'a, f64>,
    y: ArrayView1<'a, f64>,
    p: &'a TreeParams,
    rng: Rng,
    nodes: Vec<TreeNode>,
}

impl Builder<'_> {
    fn mean(&self, idx: &[usize]) -> f64 {
        idx.iter().map(|&i| self.y[i]).sum::<f64>() / idx.len().max(1) as f64
    }

    /// Best (feature, threshold, gain) over the candidate features.
    fn best_split(&mut self, idx: &[usize]) -> Option<(usize, f64)> {
        let nf = self.x.ncols();
        let mut feats: Vec<usize> = (0..nf).collect();
        if let Some(k) = self.p.max_features.filter(|k| *k < nf) {
            for i in 0..k {
                let j = i + self.rng.below(nf - i);
                feats.swap(i, j);
            }
            feats.truncate(k);
        }
        let n = idx.len() as f64;
        let total: f64 = idx.iter().map(|&i| self.y[i]).sum();
        let mut best: Option<(usize, f64, f64)> = None;
        let mut order = idx.to_vec();
        let min_leaf = self.p.min_samples_leaf.max(1);
        for &f in &feats {
            order.sort_by(|&a, &b| self.x[[a, f]].total_cmp(&self.x[[b, f]]));
            let mut left = 0.0;
            for k in 0..order.len() - 1 {
                left += self.y[order[k]];
                let nl = (k + 1) as f64;
                if k + 1 < min_leaf || order.len() - k - 1 < min_leaf {
                    continue;
                }
                let (a, b) = (self.x[[order[k], f]], self.x[[order[k + 1], f]]);
                if a == b {
                    continue;
                }
                // Maximizing sum^2/n on both sides minimizes the squared error.
                let right = total - left;
                let score = left * left / nl + right * right / (n - nl);
                if best.is_none_or(|(_, _, s)| score > s) {
                    best = Some((f, 0.5 * (a + b), score));
                }
            }
        }
        let base = total * total / n;
        best.filter(|(_, _, s)| *s > base + 1e-12)
            .map(|(f, t, _)| (f, t))
    }

    fn grow(&mut self, idx: Vec<usize>, depth: usize) -> usize {
        let id = self.nodes.len();
        self.nodes.push(TreeNode::Leaf(self.mean(&idx)));
        if depth >= self.p.max_depth || idx.len() < 2 * self.p.min_samples_leaf.max(1) {
            return id;
        }
        let Some((feature, threshold)) = self.best_split(&idx) else {
            return id;
        };
        let (l, r): (Vec<usize>, Vec<usize>) = idx
            .iter()
            .partition(|&&i| self.x[[i, feature]] <= threshold);
        let left = self.grow(l, depth + 1);
        let right = self.grow(r, depth + 1);
        self.nodes[id] = TreeNode::Split {
            feature,
            threshold,
            left,
            right,
        };
        id
    }
}

impl RegressionTree {
    /// The highest feature index a split reads (models from files are
    /// checked against the feature count before use).
    pub fn max_feature(&self) -> Option<usize> {
        self.nodes
            .iter()
            .filter_map(|n| match n {
                TreeNode::Split { feature, .. } => Some(*feature),
                TreeNode::Leaf(_) => None,
            })
            .max()
    }

    pub fn fit_rows<'a>(
        x: ArrayView2<'a, f64>,
        y: ArrayView1<'a, f64>,
        rows: Vec<usize>,
        p: &'a TreeParams,
    ) -> RegressionTree {
        let mut b = Builder {
            x,
            y,
            p,
            rng: Rng::new(p.seed),
            nodes: Vec::new(),
        };
        if !rows.is_empty() {
            b.grow(rows, 0);
        } else {
            b.nodes.push(TreeNode::Leaf(0.0));
        }
        RegressionTree { nodes: b.nodes }
    }

    pub fn predict_row(&self, row: ArrayView1<f64>) -> f64 {
        let mut i = 0;
        loop {
            match &self.nodes[i] {
                TreeNode::Leaf(v) => return *v,
                TreeNode::Split {
                    feature,
                    threshold,
                    left,
                    right,
                } => {
                    i = if row[*feature] <= *threshold {
                        *left
                    } else {
                        *right
                    };
                }
            }
        }
    }
}

impl Fit<Array2<f64>, Array1<f64>, linfa::Error> for TreeParams {
    type Object = RegressionTree;
    fn fit(
        &self,
        d: &DatasetBase<Array2<f64>, Array1<f64>>,
    ) -> Result<RegressionTree, linfa::Error> {
        let rows = (0..d.records.nrows()).collect();
        Ok(RegressionTree::fit_rows(
            d.records.view(),
            d.targets.view(),
            rows,
            self,
        ))
    }
}

impl PredictInplace<Array2<f64>, Array1<f64>> for RegressionTree {
    fn predict_inplace(&self, x: &Array2<f64>, y: &mut Array1<f64>) {
        for (i, row) in x.rows().into_iter().enumerate() {
            y[i] = self.predict_row(row);
        }
    }
    fn default_target(&self, x: &Array2<f64>) -> Array1<f64> {
        Array1::zeros(x.nrows())
    }
}

/// Random forest: bagged trees on bootstrap samples with feature subsampling.
#[derive(Clone, Debug)]
pub struct ForestParams {
    pub trees: usize,
    pub tree: TreeParams,
    pub seed: u64,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct RandomForest {
    pub trees: Vec<RegressionTree>,
}

impl Fit<Array2<f64>, Array1<f64>, linfa::Error> for ForestParams {
    type Object = RandomForest;
    fn fit(&self, d: &DatasetBase<Array2<f64>, Array1<f64>>) -> Result<RandomForest, linfa::Error> {
        let n = d.records.nrows();
        let mut rng = Rng::new(self.seed);
        let trees = (0..self.trees)
            .map(|k| {
                let rows: Vec<usize> = (0..n).map(|_| rng.below(n)).collect();
                let p = TreeParams {
                    seed: self.seed.wrapping_add(k as u64 * 7919),
                    ..self.tree.clone()
                };
                RegressionTree::fit_rows(d.records.view(), d.targets.view(), rows, &p)
            })
            .collect();
        Ok(RandomForest { trees })
    }
}

impl PredictInplace<Array2<f64>, Array1<f64>> for RandomForest {
    fn predict_inplace(&self, x: &Array2<f64>, y: &mut Array1<f64>) {
        for (i, row) in x.rows().into_iter().enumerate() {
            let s: f64 = self.trees.iter().map(|t| t.predict_row(row)).sum();
            y[i] = s / self.trees.len().max(1) as f64;
        }
    }
    fn default_target(&self, x: &Array2<f64>) -> Array1<f64> {
        Array1::zeros(x.nrows())
    }
}

/// Gradient-boosted regression trees (squared loss, shrinkage, row subsampling).
#[derive(Clone, Debug)]
pub struct BoostParams {
    pub rounds: usize,
    pub learning_rate: f64,
    pub subsample: f64,
    pub tree: TreeParams,
    pub seed: u64,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct GradientBoosting {
    pub base: f64,
    pub learning_rate: f64,
    pub trees: Vec<RegressionTree>,
}

impl Fit<Array2<f64>, Array1<f64>, linfa::Error> for BoostParams {
    type Object = GradientBoosting;
    fn fit(
        &self,
        d: &DatasetBase<Array2<f64>, Array1<f64>>,
    ) -> Result<GradientBoosting, linfa::Error> {
        let n = d.records.nrows();
        let base = d.targets.mean().unwrap_or(0.0);
        let mut pred = Array1::from_elem(n, base);
        let mut rng = Rng::new(self.seed);
        let mut trees = Vec::with_capacity(self.rounds);
        for k in 0..self.rounds {
            let resid = &d.targets - &pred;
            let rows: Vec<usize> = (0..n)
                .filter(|_| (rng.below(1_000_000) as f64) < self.subsample * 1e6)
                .collect();
            let p = TreeParams {
                seed: self.seed.wrapping_add(k as u64),
                ..self.tree.clone()
            };
            let t = RegressionTree::fit_rows(d.records.view(), resid.view(), rows, &p);
            for (i, row) in d.records.rows().into_iter().enumerate() {
                pred[i] += self.learning_rate * t.predict_row(row);
            }
            trees.push(t);
        }
        Ok(GradientBoosting {
            base,
            learning_rate: self.learning_rate,
            trees,
        })
    }
}

impl PredictInplace<Array2<f64>, Array1<f64>> for GradientBoosting {
    fn predict_inplace(&self, x: &Array2<f64>, y: &mut Array1<f64>) {
        for (i, row) in x.rows().into_iter().enumerate() {
            y[i] = self.base
                + self.learning_rate * self.trees.iter().map(|t| t.predict_row(row)).sum::<f64>();
        }
    }
    fn default_target(&self, x: &Array2<f64>) -> Array1<f64> {
        Array1::zeros(x.nrows())
    }
}
