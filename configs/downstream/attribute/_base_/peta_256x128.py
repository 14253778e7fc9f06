# PETA in its released layout: data/PETA/{images/*.png, PETA.mat} (the 35 selected attributes; the
# partition's train + val for training, its test for evaluation). For PETA-zs, put the zero-shot split
# in PETA.mat as another partition and set `partition`. Used by the children of the PA100K configs:
#   train_dataloader = dict(dataset={{_base_.peta_train}})
#   val_dataloader = dict(dataset={{_base_.peta_test}})
peta_num_attributes = 35
peta_train = dict(type='saip_mm.PETADataset', data_root='data/PETA/', split='trainval', partition=0)
peta_test = dict(type='saip_mm.PETADataset', data_root='data/PETA/', split='test', partition=0)
