# Dataloader settings shared by the downstream dataset bases. A dataset base writes only what is its own:
#   train_dataloader = dict(_base_.train_loader, batch_size=64, dataset=dict(...))
train_loader = dict(num_workers=4, persistent_workers=True, sampler=dict(type='DefaultSampler', shuffle=True))
infinite_train_loader = dict(train_loader, sampler=dict(type='InfiniteSampler', shuffle=True))  # iteration-based
test_loader = dict(num_workers=4, persistent_workers=True, sampler=dict(type='DefaultSampler', shuffle=False))
