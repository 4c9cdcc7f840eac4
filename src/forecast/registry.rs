//! The ensemble's members, in the order the ensemble lists them: the
//! statistical members, the LSTM, the two tree ensembles fitted on the
//! series and the two trained across series (the shipped global models).

use super::features::Calendar;
use super::global::{GlobalModels, global_members};
use super::learned::{Kind, TreeMember};
use super::lstm::LstmMember;
use super::members::{
    Ets, EtsLevel, LevelMedian, Member, Mstl, Naive, SeasonMedian, SeasonalNaive, Theta,
    ThetaDayType,
};
use super::persist::ModelStore;
use std::sync::Arc;

/// Every member, by name.
pub fn all_members() -> Vec<Box<dyn Member>> {
    members_with(&Calendar::builtin(1990..=2040))
}

/// Every member, the learned ones reading holidays and business events from `cal`.
pub fn members_with(cal: &Calendar) -> Vec<Box<dyn Member>> {
    members_saving(cal, None)
}

/// Every member; the learned ones load and save their models in `models`.
pub fn members_saving(cal: &Calendar, models: Option<Arc<dyn ModelStore>>) -> Vec<Box<dyn Member>> {
    members_over(cal, models, &GlobalModels::shipped())
}

/// Every member, the global ones served by `global`.
pub fn members_over(
    cal: &Calendar,
    models: Option<Arc<dyn ModelStore>>,
    global: &Arc<GlobalModels>,
) -> Vec<Box<dyn Member>> {
    let mut members: Vec<Box<dyn Member>> = vec![
        Box::new(Naive),
        Box::new(EtsLevel),
        Box::new(SeasonalNaive::daily()),
        Box::new(SeasonalNaive::weekly()),
        Box::new(SeasonMedian::daily()),
        Box::new(SeasonMedian::weekly()),
        Box::new(LevelMedian),
        Box::new(Mstl),
        Box::new(Ets),
        Box::new(Theta),
        Box::new(ThetaDayType {
            calendar: cal.clone(),
        }),
        Box::new(LstmMember::new(models.clone())),
        Box::new(TreeMember::new(Kind::Forest, cal.clone()).saving(models.clone())),
        Box::new(TreeMember::new(Kind::Boost, cal.clone()).saving(models)),
    ];
    members.extend(global_members(cal, global));
    members
}
