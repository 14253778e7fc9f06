# CIHP multi-person part parsing (the 20 LIP classes over whole multi-person images), read as semantic
# segmentation with the LIP recipe (SCHP-like 473x473 crops, left/right-swapping flip). Layout:
#   data/CIHP/instance-level_human_parsing/{Training,Validation}/{Images,Category_ids} + *_id.txt
# Used by the children of the LIP configs:
#   train_dataloader = dict(dataset={{_base_.cihp_train}}); val_dataloader = dict(dataset={{_base_.cihp_val}})
cihp_root = 'data/CIHP/instance-level_human_parsing/'
cihp_train = dict(type='saip_mm.CIHPDataset', data_root=cihp_root, split='Training',
                  data_prefix=dict(img_path='Training/Images', seg_map_path='Training/Category_ids'))
cihp_val = dict(type='saip_mm.CIHPDataset', data_root=cihp_root, split='Validation',
                data_prefix=dict(img_path='Validation/Images', seg_map_path='Validation/Category_ids'))
